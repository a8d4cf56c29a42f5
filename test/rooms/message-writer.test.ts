// MessageWriter on its own: group commit of room messages. The statement is a stand-in whose
// calls the test answers one by one, so every interleaving is chosen, not timed. No database.
import { expect } from "chai";
import { MessageWriter } from "../../src/rooms/message-writer.js";
import type { InsertResult, NewMessage } from "../../src/rooms/rooms-repo.js";
import { settle } from "../support/room-fakes.js";

interface Statement {
  readonly batch: readonly NewMessage[];
  ok(): void;
  fail(err: unknown): void;
}

/** The insert the writer calls: each call waits until the test settles it. */
function fakeInsert() {
  const statements: Statement[] = [];
  const insert = (batch: readonly NewMessage[]) =>
    new Promise<InsertResult[]>((resolve, reject) => {
      statements.push({
        batch,
        ok: () => resolve(batch.map((m, i) => ({ created: true, row: { id: m.id, room_id: m.roomId, seq: i + 1, author_user_id: m.authorUserId, author_agent_id: m.authorAgentId, author_name: m.authorName, body: m.body, client_message_id: m.clientMessageId, created_at: new Date(0) } }))),
        fail: reject,
      });
    });
  return { statements, insert };
}

let n = 0;
function msg(roomId: string, opts: { author?: string; cmid?: string; body?: string } = {}): NewMessage {
  n++;
  return {
    id: `m_${n}`,
    roomId,
    authorUserId: opts.author ?? "u_a",
    authorAgentId: null,
    authorName: "A",
    body: opts.body ?? `body ${n}`,
    clientMessageId: opts.cmid ?? null,
    feedEventId: `e_${n}`,
    feedKind: "room_message",
    snippet: "s",
  };
}

const ids = (s: Statement) => s.batch.map((m) => m.body);

describe("MessageWriter (unit)", () => {
  it("writes a post at once when idle, alone", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert);
    const p = w.write(msg("r1", { body: "first" }));
    expect(statements.map(ids)).to.deep.equal([["first"]]);
    statements[0]!.ok();
    expect((await p)?.created).to.equal(true);
  });

  it("posts that arrive while statements are in flight share the next statement and its commit", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 1 });
    const first = w.write(msg("r1", { body: "a" }));
    const later = ["b", "c", "d"].map((body) => w.write(msg("r2", { body })));
    expect(statements).to.have.length(1);
    statements[0]!.ok();
    await first;
    await settle();
    expect(statements.map(ids)).to.deep.equal([["a"], ["b", "c", "d"]]);
    statements[1]!.ok();
    expect((await Promise.all(later)).map((r) => r?.row.body)).to.deep.equal(["b", "c", "d"]);
  });

  it("never runs two statements for one room at once; other rooms go meanwhile", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 2 });
    void w.write(msg("hot", { body: "h1" }));
    void w.write(msg("hot", { body: "h2" }));
    void w.write(msg("cold", { body: "c1" }));
    // The second statement takes only the cold room's post; h2 waits for the hot room's turn.
    expect(statements.map(ids)).to.deep.equal([["h1"], ["c1"]]);
    statements[1]!.ok();
    await settle();
    expect(statements).to.have.length(2);
    statements[0]!.ok();
    await settle();
    expect(statements.map(ids)).to.deep.equal([["h1"], ["c1"], ["h2"]]);
  });

  it("puts at most maxBatch posts in one statement", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 1, maxBatch: 2 });
    void w.write(msg("r", { body: "0" }));
    for (let i = 1; i <= 5; i++) void w.write(msg(`r${i}`, { body: String(i) }));
    statements[0]!.ok();
    await settle();
    statements[1]!.ok();
    await settle();
    statements[2]!.ok();
    await settle();
    expect(statements.map(ids)).to.deep.equal([["0"], ["1", "2"], ["3", "4"], ["5"]]);
  });

  it("leaves a repeat of one (room, author, client_message_id) for the next statement, where it meets the first as a duplicate", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 1 });
    void w.write(msg("busy", { body: "x" }));
    void w.write(msg("r", { cmid: "c-1", body: "once" }));
    void w.write(msg("r", { cmid: "c-1", body: "again" }));
    void w.write(msg("r", { cmid: "c-1", author: "u_b", body: "other author" }));
    statements[0]!.ok();
    await settle();
    expect(ids(statements[1]!)).to.deep.equal(["once", "other author"]);
    statements[1]!.ok();
    await settle();
    expect(ids(statements[2]!)).to.deep.equal(["again"]);
  });

  it("replays a failed statement message by message, so only the message at fault fails", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 1 });
    void w.write(msg("busy", { body: "x" }));
    const outcomes = Promise.allSettled(["good 1", "bad", "good 2"].map((body) => w.write(msg("r", { body }))));
    statements[0]!.ok();
    await settle();
    statements[1]!.fail(Object.assign(new Error("value too long"), { code: "22001" }));
    await settle();
    expect(ids(statements[2]!)).to.deep.equal(["good 1"]);
    statements[2]!.ok();
    await settle();
    statements[3]!.fail(Object.assign(new Error("value too long"), { code: "22001" }));
    await settle();
    statements[4]!.ok();
    expect((await outcomes).map((o) => o.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect(statements.map(ids).slice(1)).to.deep.equal([["good 1", "bad", "good 2"], ["good 1"], ["bad"], ["good 2"]]);
  });

  it("does not replay when the database is unreachable: every post of the statement fails at once", async () => {
    const { statements, insert } = fakeInsert();
    const w = new MessageWriter(insert, { maxInFlight: 1 });
    void w.write(msg("busy", { body: "x" }));
    const outcomes = Promise.allSettled(["a", "b"].map((body) => w.write(msg("r", { body }))));
    statements[0]!.ok();
    await settle();
    statements[1]!.fail(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect((await outcomes).map((o) => o.status)).to.deep.equal(["rejected", "rejected"]);
    expect(statements).to.have.length(2);
  });
});
