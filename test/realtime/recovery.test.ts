// Missed messages are replayed from PostgreSQL after a reconnect, exactly, then live ones follow;
// and two separate server instances (two machines) sharing Redis and PostgreSQL serve one city.
import { expect } from "chai";
import { startServer, type TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { SioClient, WsClient, until, type Recorded } from "../support/clients.js";
import { api, freshRoom, sentinel } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const seqs = (events: Recorded[], name = "room.message") => events.filter((e) => e.event === name).map((e) => (e.message as { seq: number }).seq);
const post = (srv: TestServer, room: string, token: string, body: string) =>
  api<{ id: string; seq: number }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token, body: { body } });

describe("realtime: recovery and several machines", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let a: TestServer;
  let b: TestServer;
  const tok = userToken("u_recover", { name: "Recover" });

  before(async () => {
    // `a` is the run's shared server; `b`, a second machine, is this file's own.
    [a, b] = await Promise.all([sharedServer(), startServer()]);
  });
  after(async () => {
    await b?.stop();
  });

  it("replays exactly the missed messages to a Socket.IO client that rejoins with last_message_id, then live ones", async () => {
    const room = await freshRoom(a.url, tok);
    const first = await SioClient.connect(a.url, "/city/rooms", { token: tok });
    await first.emitAck("room.join", { room_id: room });
    for (let i = 1; i <= 3; i++) expect((await post(a, room, tok, `before ${i}`)).status).to.equal(201);
    await until(() => (seqs(first.events).length === 3 ? true : undefined), 5_000, "three live messages");
    const lastSeen = (first.events.filter((e) => e.event === "room.message").at(-1)!.message as { id: string }).id;
    first.close();
    for (let i = 4; i <= 8; i++) await post(a, room, tok, `missed ${i}`);
    const again = await SioClient.connect(a.url, "/city/rooms", { token: tok });
    // Writers keep going while the replay runs: nothing may be lost or doubled at the seam.
    const writing = (async () => {
      for (let i = 9; i <= 14; i++) await post(b, room, tok, `during ${i}`);
    })();
    const ack = await again.emitAck("room.join", { room_id: room, last_message_id: lastSeen });
    expect(ack.event).to.equal("room.join");
    await writing;
    await until(() => (seqs(again.events).length >= 11 ? true : undefined), 10_000, "replay and live messages");
    const last = await sentinel(a.url, room, tok, [again]); // a would-be duplicate comes before it
    expect(seqs(again.events)).to.deep.equal([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, last]);
    again.close();
  });

  it("replays to a raw-ws client that reconnects with ?last_message_id=", async () => {
    const room = await freshRoom(a.url, tok);
    const m1 = await post(a, room, tok, "one");
    await post(a, room, tok, "two");
    await post(a, room, tok, "three");
    const ws = await WsClient.connect(b.url, `/v1/ws/city/rooms/${room}?last_message_id=${m1.body.id}`, { token: tok });
    try {
      await until(() => (seqs(ws.events, "city.room.message").length >= 2 ? true : undefined), 5_000, "replay");
      await post(b, room, tok, "four");
      await until(() => (seqs(ws.events, "city.room.message").length >= 3 ? true : undefined), 5_000, "live");
      const last = await sentinel(b.url, room, tok, [ws]);
      expect(seqs(ws.events, "city.room.message")).to.deep.equal([2, 3, 4, last]);
    } finally {
      ws.close();
    }
  });

  it("answers an unknown last_message_id with an error and still joins live", async () => {
    const room = await freshRoom(a.url, tok);
    const s = await SioClient.connect(a.url, "/city/rooms");
    try {
      const res = await s.emitAck("room.join", { room_id: room, last_message_id: "m_city_01ARZ3NDEKTSV4RRFFQ69G5FAV" });
      expect(res).to.include({ event: "error", code: "validation_failed" });
      await post(a, room, tok, "live after a bad replay");
      await s.waitFor((e) => e.event === "room.message", 5_000, "live message");
    } finally {
      s.close();
    }
  });

  it("delivers between two server instances (two machines) on both protocols, in one order", async () => {
    const room = await freshRoom(a.url, tok);
    const onA = [await SioClient.connect(a.url, "/city/rooms"), await WsClient.joined(a.url, `/ws/city/rooms/${room}`, "u_recover_on_a")];
    const onB = [await SioClient.connect(b.url, "/city/rooms"), await WsClient.joined(b.url, `/ws/city/rooms/${room}`, "u_recover_on_b")];
    await (onA[0] as SioClient).emitAck("room.join", { room_id: room });
    await (onB[0] as SioClient).emitAck("room.join", { room_id: room });
    try {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        writes.push(post(a, room, tok, `a${i}`));
        writes.push(post(b, room, tok, `b${i}`));
      }
      await Promise.all(writes);
      const all = [...onA, ...onB];
      for (const c of all) await until(() => (seqs(c.events).length >= 20 ? true : undefined), 10_000, "20 messages");
      const expected = Array.from({ length: 20 }, (_, i) => i + 1);
      expected.push(await sentinel(b.url, room, tok, all));
      for (const c of all) expect(seqs(c.events)).to.deep.equal(expected);
    } finally {
      for (const c of [...onA, ...onB]) c.close();
    }
  });
});
