// The city feed over REST (CONTRACT §6): newest first, payload of a room message, limit bounds,
// paging by event id without gaps.
import { expect } from "chai";
import type pg from "pg";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { agentToken, userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, expectError, get, makeRoom, post, testPool, uniq } from "./client.js";

const EVT_ID = /^evt_city_[0-9A-HJKMNP-TV-Z]{26}$/;

interface FeedItem {
  id: string;
  kind: string;
  room_id: string | null;
  user_id: string | null;
  agent_id: string | null;
  payload: { message_id: string; body: string; snippet: string };
  created_at: string;
}

describe("rest: feed", () => {
  let srv: TestServer;
  let db: pg.Pool;
  const taras = userToken("u_taras", { name: "Тарас" });

  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
    db = testPool();
  });
  after(async () => {
    await db?.end();
  });

  for (const prefix of PREFIXES) {
    it(`${prefix || "/"}: lists room messages newest first with {message_id, body, snippet}`, async () => {
      const roomId = await makeRoom(srv.url, taras);
      const sent: { id: string; body: string }[] = [];
      for (const body of [`first ${uniq()}`, `second ${uniq()}`, `third ${uniq()}`]) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, taras);
        sent.push({ id: res.body.id, body });
      }
      const res = await get<FeedItem[]>(srv.url, `${prefix}/city/feed`);
      expect(res.status).to.equal(200);
      const top = res.body.slice(0, 3);
      expect(top.map((e) => e.payload.message_id)).to.deep.equal(sent.map((m) => m.id).reverse());
      for (const [i, e] of top.entries()) {
        expect(Object.keys(e).sort()).to.deep.equal(["agent_id", "created_at", "id", "kind", "payload", "room_id", "user_id"]);
        expect(e.id).to.match(EVT_ID);
        expect(e).to.include({ kind: "room_message", room_id: roomId, user_id: "u_taras", agent_id: null });
        const m = sent[2 - i]!;
        expect(e.payload).to.deep.equal({ message_id: m.id, body: m.body, snippet: m.body });
        expect(new Date(e.created_at).toISOString()).to.equal(e.created_at);
      }
      const times = res.body.map((e) => e.created_at);
      expect(times).to.deep.equal([...times].sort().reverse());
    });
  }

  it("cuts the snippet to at most 140 characters, by characters not UTF-16 units", async () => {
    const roomId = await makeRoom(srv.url, taras);
    const long = "Привіт 🏙️ ".repeat(60).trim();
    const msg = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: long }, taras);
    const exact = "я".repeat(140);
    const msg140 = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: exact }, taras);
    const feed = (await get<FeedItem[]>(srv.url, "/city/feed?limit=100")).body;
    const ev = feed.find((e) => e.payload.message_id === msg.body.id)!;
    expect(ev.payload.body).to.equal(long);
    expect([...ev.payload.snippet].length).to.be.at.most(140);
    expect(ev.payload.snippet.length).to.be.lessThan(long.length);
    expect(long.startsWith(ev.payload.snippet.replace(/…$/, ""))).to.equal(true);
    expect(ev.payload.snippet.isWellFormed()).to.equal(true);
    const ev140 = feed.find((e) => e.payload.message_id === msg140.body.id)!;
    expect(ev140.payload.snippet).to.equal(exact);
  });

  it("never cuts a flag or a family emoji in half at the end of a snippet", async () => {
    const roomId = await makeRoom(srv.url, taras);
    const flag = "a".repeat(138) + "🇺🇦" + " and more text after the cut";
    const family = "b".repeat(137) + "👨‍👩‍👧" + " tail";
    const ids: string[] = [];
    for (const body of [flag, family]) ids.push((await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, taras)).body.id);
    const feed = (await get<FeedItem[]>(srv.url, "/city/feed?limit=10")).body;
    const snip = (id: string) => feed.find((e) => e.payload.message_id === id)!.payload.snippet;
    expect(snip(ids[0]!)).to.equal("a".repeat(138) + "…");
    expect(snip(ids[1]!)).to.equal("b".repeat(137) + "…");
  });

  it("marks an agent's message as agent_reply with agent_id and no user_id", async () => {
    const roomId = await makeRoom(srv.url, taras);
    const msg = await post(srv.url, `/api/city/rooms/${roomId}/messages`, { body: "agent says hi" }, agentToken("ag_feed"));
    const feed = (await get<FeedItem[]>(srv.url, "/city/feed")).body;
    expect(feed[0]).to.include({ kind: "agent_reply", agent_id: "ag_feed", user_id: null, room_id: roomId });
    expect(feed[0]!.payload).to.deep.equal({ message_id: msg.body.id, body: "agent says hi", snippet: "agent says hi" });
  });

  it("defaults to 20 events, allows up to 100, reads more as 100, and refuses 0 and non-numbers", async () => {
    const roomId = await makeRoom(srv.url, taras);
    await Promise.all(Array.from({ length: 25 }, (_, i) => post(srv.url, `/city/rooms/${roomId}/messages`, { body: `bulk ${i}` }, taras)));
    expect((await get(srv.url, "/city/feed")).body).to.have.length(20);
    expect((await get(srv.url, "/city/feed?limit=1")).body).to.have.length(1);
    const max = await get(srv.url, "/city/feed?limit=100");
    expect(max.status).to.equal(200);
    expect(max.body.length).to.be.within(25, 100);
    const more = await get(srv.url, "/city/feed?limit=101");
    expect(more.status).to.equal(200);
    expect(more.body).to.have.length(max.body.length);
    for (const prefix of PREFIXES) {
      for (const limit of ["0", "abc", "-5", "1e2"]) {
        expect(expectError(await get(srv.url, `${prefix}/city/feed?limit=${limit}`), 400, "validation_failed").field).to.equal("limit");
      }
    }
  });

  it("pages with before=<event id>: no gap, no duplicate, newest first", async () => {
    const roomId = await makeRoom(srv.url, taras);
    await Promise.all(Array.from({ length: 30 }, (_, i) => post(srv.url, `/city/rooms/${roomId}/messages`, { body: `page ${i}` }, taras)));
    const all = (await get<FeedItem[]>(srv.url, "/city/feed?limit=100")).body.map((e) => e.id);
    const paged: string[] = [];
    let page = (await get<FeedItem[]>(srv.url, "/city/feed?limit=7")).body;
    while (page.length && paged.length < all.length) {
      paged.push(...page.map((e) => e.id));
      page = (await get<FeedItem[]>(srv.url, `/v1/city/feed?limit=7&before=${page.at(-1)!.id}`)).body;
    }
    expect(paged.slice(0, all.length)).to.deep.equal(all);
  });

  it("does not skip older events that share the cursor's millisecond (microsecond timestamps)", async () => {
    // PostgreSQL keeps microseconds; a cursor that went through a JS Date would keep only the
    // millisecond and skip every older event inside it. Old timestamps keep these below the rest.
    const ids = ["evt_city_01A00000000000000000000003", "evt_city_01A00000000000000000000002", "evt_city_01A00000000000000000000001"];
    const times = ["2001-01-01T00:00:00.000900Z", "2001-01-01T00:00:00.000500Z", "2001-01-01T00:00:00.000100Z"];
    for (const [i, id] of ids.entries()) {
      await db.query(
        `INSERT INTO city_feed_events (id, kind, room_id, user_id, agent_id, payload, created_at) VALUES ($1, 'test', NULL, NULL, NULL, '{}'::jsonb, $2)`,
        [id, times[i]],
      );
    }
    try {
      const page = await get<FeedItem[]>(srv.url, `/city/feed?limit=100&before=${ids[0]}`);
      expect(page.status).to.equal(200);
      expect(page.body.map((e) => e.id)).to.deep.equal(ids.slice(1));
      const next = await get<FeedItem[]>(srv.url, `/city/feed?limit=1&before=${ids[1]}`);
      expect(next.body.map((e) => e.id)).to.deep.equal([ids[2]]);
    } finally {
      await db.query("DELETE FROM city_feed_events WHERE id = ANY($1)", [ids]);
    }
  });

  it("refuses a before that names no event", async () => {
    expect(expectError(await get(srv.url, "/city/feed?before=evt_city_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 400).field).to.equal("before");
    expect(expectError(await get(srv.url, "/city/feed?before=garbage"), 400).field).to.equal("before");
  });

  it("is public: readable without a token", async () => {
    const res = await get(srv.url, "/city/feed");
    expect(res.status).to.equal(200);
    expect(res.body).to.be.an("array");
  });
});
