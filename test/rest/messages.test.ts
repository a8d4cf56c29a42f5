// Messages over REST (CONTRACT §6, §9, §10): the post (aliases, username, idempotency, order),
// history pages, join/leave, agents as authors, text fidelity, and that no failed write leaves
// half of itself behind.
import { expect } from "chai";
import type pg from "pg";
import { migrate } from "../../src/infra/db/migrate.js";
import { createTestDatabase } from "../support/database.js";
import { startServer, type TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { agentToken, userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, call, expectError, get, makeRoom, post, testPool, uniq } from "./client.js";

const MSG_ID = /^m_city_[0-9A-HJKMNP-TV-Z]{26}$/;

describe("rest: messages", () => {
  let srv: TestServer;
  let db: pg.Pool;
  const olena = userToken("u_olena", { name: "Олена" });
  const anon = userToken("u_no_name");

  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
    db = testPool();
  });
  after(async () => {
    await db?.end();
  });

  const count = async (sql: string, params: unknown[]) => Number((await db.query(sql, params)).rows[0].n);
  const messageRows = (roomId: string) => count("SELECT count(*) AS n FROM city_room_messages WHERE room_id = $1", [roomId]);
  const feedRowsFor = (messageId: string) => count("SELECT count(*) AS n FROM city_feed_events WHERE payload->>'message_id' = $1", [messageId]);

  describe("POST /city/rooms/{room_id}/messages", () => {
    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: answers 201 with the message: body, text, username from the name claim, seq`, async () => {
        const roomId = await makeRoom(srv.url, olena);
        const res = await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { body: "Привіт" }, olena);
        expect(res.status, res.text).to.equal(201);
        expect(res.body).to.include({
          room_id: roomId,
          body: "Привіт",
          text: "Привіт",
          username: "Олена",
          author_user_id: "u_olena",
          author_agent_id: null,
          client_message_id: null,
          seq: 1,
        });
        expect(res.body.id).to.match(MSG_ID);
        expect(new Date(res.body.created_at).toISOString()).to.equal(res.body.created_at);
        const rows = await db.query("SELECT body, author_user_id, author_name, seq FROM city_room_messages WHERE id = $1", [res.body.id]);
        expect(rows.rows).to.deep.equal([{ body: "Привіт", author_user_id: "u_olena", author_name: "Олена", seq: 1 }]);
        expect(await feedRowsFor(res.body.id)).to.equal(1);
      });
    }

    it("uses the user id as username when the token has no name claim", async () => {
      const roomId = await makeRoom(srv.url, anon);
      const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "hi" }, anon);
      expect(res.status).to.equal(201);
      expect(res.body.username).to.equal("u_no_name");
    });

    it("stores a token's odd name claim safely: no 500 for control characters, emoji never cut in half", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const nul = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "x" }, userToken("u_odd1", { name: "Bad\u0000Name\n" }));
      expect(nul.status, nul.text).to.equal(201);
      expect(nul.body.username).to.equal("BadName");
      const long = "😀".repeat(150);
      const cut = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "y" }, userToken("u_odd2", { name: long }));
      expect(cut.status).to.equal(201);
      expect(cut.body.username).to.equal("😀".repeat(100));
      expect(cut.body.username.isWellFormed()).to.equal(true);
      const only = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "z" }, userToken("u_odd3", { name: "\u0000\u0001" }));
      expect(only.body.username).to.equal("u_odd3");
    });

    it("keeps the name the author had when writing, after the name changes", async () => {
      const roomId = await makeRoom(srv.url, olena);
      await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "one" }, userToken("u_renamed", { name: "Old Name" }));
      await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "two" }, userToken("u_renamed", { name: "New Name" }));
      const history = await get(srv.url, `/city/rooms/${roomId}/messages`);
      expect(history.body.map((m: { username: string }) => m.username)).to.deep.equal(["Old Name", "New Name"]);
    });

    it("accepts `text` and `{data: {body}}` as the body, at every prefix", async () => {
      const roomId = await makeRoom(srv.url, olena);
      for (const prefix of PREFIXES) {
        const tag = prefix || "/";
        const a = await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { text: `text alias ${tag}` }, olena);
        expect(a.status, a.text).to.equal(201);
        expect(a.body).to.include({ body: `text alias ${tag}`, text: `text alias ${tag}` });
        const b = await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { data: { body: `data alias ${tag}` } }, olena);
        expect(b.status, b.text).to.equal(201);
        expect(b.body).to.include({ body: `data alias ${tag}`, text: `data alias ${tag}` });
      }
      expect(await messageRows(roomId)).to.equal(6);
    });

    it("trims the body", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "  \n padded \t " }, olena);
      expect(res.status).to.equal(201);
      expect(res.body.body).to.equal("padded");
    });

    it("accepts 4000 characters (even 4000 emoji) and refuses 4001, empty and whitespace-only", async () => {
      const roomId = await makeRoom(srv.url, olena);
      for (const body of ["x".repeat(4000), "😀".repeat(4000), "ї".repeat(4000)]) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, olena);
        expect(res.status, res.text.slice(0, 200)).to.equal(201);
        expect(res.body.body).to.equal(body);
      }
      for (const body of ["x".repeat(4001), "😀".repeat(4001), "", "   ", "\n\t "]) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, olena);
        expect(expectError(res, 400, "validation_failed").field).to.equal("body");
      }
      expect(await messageRows(roomId)).to.equal(3);
    });

    it("is idempotent on client_message_id: the repeat answers 200 with the same message and writes nothing", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const cmid = `c-${uniq()}`;
      const first = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "once", client_message_id: cmid }, olena);
      expect(first.status).to.equal(201);
      expect(first.body.client_message_id).to.equal(cmid);
      for (const prefix of PREFIXES) {
        const again = await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { body: "once", client_message_id: cmid }, olena);
        expect(again.status, again.text).to.equal(200);
        expect(again.body).to.deep.equal(first.body);
      }
      // Even a different body under the same id is the same message: the client retried.
      const changed = await post(srv.url, `/city/rooms/${roomId}/messages`, { text: "changed", client_message_id: cmid }, olena);
      expect(changed.status).to.equal(200);
      expect(changed.body.body).to.equal("once");
      expect(await messageRows(roomId)).to.equal(1);
      expect(await feedRowsFor(first.body.id)).to.equal(1);
      // The room's sequence did not move: the next message is seq 2.
      const next = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "next" }, olena);
      expect(next.body.seq).to.equal(2);
    });

    it("scopes client_message_id to the author and the room", async () => {
      const roomA = await makeRoom(srv.url, olena);
      const roomB = await makeRoom(srv.url, olena);
      const cmid = `c-${uniq()}`;
      const a = await post(srv.url, `/city/rooms/${roomA}/messages`, { body: "a", client_message_id: cmid }, olena);
      const b = await post(srv.url, `/city/rooms/${roomA}/messages`, { body: "b", client_message_id: cmid }, anon);
      const c = await post(srv.url, `/city/rooms/${roomB}/messages`, { body: "c", client_message_id: cmid }, olena);
      expect([a.status, b.status, c.status]).to.deep.equal([201, 201, 201]);
      expect(new Set([a.body.id, b.body.id, c.body.id]).size).to.equal(3);
    });

    it("writes exactly one row when ten posts with one client_message_id race", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const cmid = `race-${uniq()}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => post(srv.url, `/city/rooms/${roomId}/messages`, { body: "racing", client_message_id: cmid }, olena)),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, results.map((r) => r.text).join("\n").slice(0, 500)).to.deep.equal([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).to.equal(1);
      expect(await messageRows(roomId)).to.equal(1);
      expect(await feedRowsFor(results[0]!.body.id)).to.equal(1);
      const next = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "after the race" }, olena);
      expect(next.body.seq).to.equal(2);
    });

    it("gives concurrent posts to one room distinct, gapless seq numbers in history order", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => post(srv.url, `/city/rooms/${roomId}/messages`, { body: `p${i}` }, userToken(`u_p${i}`))),
      );
      expect(results.every((r) => r.status === 201)).to.equal(true);
      const seqs = results.map((r) => r.body.seq as number).sort((a, b) => a - b);
      expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
      const history = await get(srv.url, `/city/rooms/${roomId}/messages?limit=200`);
      expect(history.body.map((m: { seq: number }) => m.seq)).to.deep.equal(seqs);
      const bySeq = new Map(results.map((r) => [r.body.seq, r.body.id]));
      expect(history.body.map((m: { id: string }) => m.id)).to.deep.equal(seqs.map((s) => bySeq.get(s)));
    });

    it("lets an agent token post: author_agent_id set, author_user_id null, feed kind agent_reply", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const res = await post(srv.url, `/v1/city/rooms/${roomId}/messages`, { text: "Я агент" }, agentToken("ag_helper"));
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ author_agent_id: "ag_helper", author_user_id: null, username: "ag_helper", body: "Я агент" });
      const named = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "named" }, agentToken("ag_named", { name: "Helper" }));
      expect(named.body.username).to.equal("Helper");
      const feed = await db.query("SELECT kind, user_id, agent_id, room_id FROM city_feed_events WHERE payload->>'message_id' = $1", [res.body.id]);
      expect(feed.rows).to.deep.equal([{ kind: "agent_reply", user_id: null, agent_id: "ag_helper", room_id: roomId }]);
      const row = await db.query("SELECT author_user_id, author_agent_id FROM city_room_messages WHERE id = $1", [res.body.id]);
      expect(row.rows).to.deep.equal([{ author_user_id: null, author_agent_id: "ag_helper" }]);
    });

    it("answers 404 for an unknown room and writes neither a message nor a feed event", async () => {
      const marker = `orphan-${uniq()}`;
      for (const prefix of PREFIXES) {
        for (const roomId of ["room_city_never-made", "nonsense", "room_city_"]) {
          const res = await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { body: marker, client_message_id: marker }, olena);
          expectError(res, 404);
        }
      }
      expect(await count("SELECT count(*) AS n FROM city_room_messages WHERE body = $1", [marker])).to.equal(0);
      expect(await count("SELECT count(*) AS n FROM city_feed_events WHERE payload->>'body' = $1", [marker])).to.equal(0);
    });

    it("needs a token", async () => {
      const roomId = await makeRoom(srv.url, olena);
      for (const prefix of PREFIXES) {
        expectError(await post(srv.url, `${prefix}/city/rooms/${roomId}/messages`, { body: "x" }), 401, "unauthorized");
      }
      expect(await messageRows(roomId)).to.equal(0);
    });
  });

  describe("text fidelity", () => {
    const samples = [
      "Ґанок, їжак, єнот і ще — «лапки» та апостроф: м’ята, пʼять, сім'я",
      "👨‍👩‍👧‍👦 🇺🇦 👍🏽 🏳️‍🌈 🧑🏿‍🚀 e\u0301 ﬁ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
      "'); DROP TABLE city_rooms; --",
      "Robert'); DELETE FROM city_room_messages WHERE ('1'='1",
      "$1 $$ \\x00 \\' %s %d {{x}} ${x} <script>alert(1)</script>",
      "line one\nline two\r\n\ttabbed",
    ];

    it("round-trips Ukrainian, emoji and SQL-looking text unchanged through post, history, detail, feed and the row", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const ids: string[] = [];
      for (const body of samples) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, olena);
        expect(res.status, res.text).to.equal(201);
        expect(res.body.body).to.equal(body);
        ids.push(res.body.id);
      }
      const history = await get(srv.url, `/api/city/rooms/${roomId}/messages`);
      expect(history.body.map((m: { body: string }) => m.body)).to.deep.equal(samples);
      const detail = await get(srv.url, `/v1/city/rooms/${roomId}`);
      expect(detail.body.messages.map((m: { text: string }) => m.text)).to.deep.equal(samples);
      const rows = await db.query("SELECT body FROM city_room_messages WHERE room_id = $1 ORDER BY seq", [roomId]);
      expect(rows.rows.map((r) => r.body)).to.deep.equal(samples);
      const feed = await get(srv.url, "/city/feed?limit=100");
      for (const [i, id] of ids.entries()) {
        const ev = feed.body.find((e: { payload: { message_id: string } }) => e.payload.message_id === id);
        expect(ev.payload.body).to.equal(samples[i]);
      }
      // The tables the SQL-looking text names are still there.
      expect(await count("SELECT count(*) AS n FROM city_rooms WHERE id = $1", [roomId])).to.equal(1);
    });

    it("stores SQL-looking names verbatim, and a room's name with Ukrainian and emoji", async () => {
      const name = "'); DROP TABLE city_rooms; --";
      const res = await post(srv.url, "/city/rooms", { name, slug: `sql-${uniq()}`, description: "Кімната 🏙️ для всіх" }, olena);
      expect(res.status).to.equal(201);
      const detail = await get(srv.url, `/city/rooms/${res.body.id}`);
      expect(detail.body).to.include({ name, description: "Кімната 🏙️ для всіх" });
      expect((await get(srv.url, "/city/rooms")).status).to.equal(200);
    });

    it("refuses a NUL character with 400 and writes nothing", async () => {
      const roomId = await makeRoom(srv.url, olena);
      for (const json of [{ body: "a\u0000b" }, { text: "\u0000" }, { data: { body: "x\u0000" } }]) {
        expectError(await post(srv.url, `/city/rooms/${roomId}/messages`, json, olena), 400, "validation_failed");
      }
      const raw = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw: '{"body":"nul \\u0000 here"}', token: olena });
      expectError(raw, 400);
      expectError(await post(srv.url, "/city/rooms", { name: "bad\u0000name", slug: `nul-${uniq()}` }, olena), 400, "validation_failed");
      expectError(await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "ok", client_message_id: "a\u0000" }, olena), 400);
      expect(await messageRows(roomId)).to.equal(0);
    });

    it("refuses lone surrogates (not well-formed Unicode) with 400", async () => {
      const roomId = await makeRoom(srv.url, olena);
      const raw = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw: '{"body":"half \\ud83d pair"}', token: olena });
      expect(expectError(raw, 400).field).to.equal("body");
      expect(await messageRows(roomId)).to.equal(0);
    });
  });

  describe("GET /city/rooms/{room_id}/messages", () => {
    let roomId: string;
    let all: { id: string; seq: number; body: string }[];

    before(async function () {
      this.timeout(90_000);
      roomId = await makeRoom(srv.url, olena, "hist");
      for (let i = 1; i <= 57; i++) expect((await post(srv.url, `/city/rooms/${roomId}/messages`, { body: `h${i}` }, olena)).status).to.equal(201);
      all = (await get(srv.url, `/city/rooms/${roomId}/messages?limit=200`)).body;
    });

    it("returns every message in seq order with limit up to 200", () => {
      expect(all.map((m) => m.seq)).to.deep.equal(Array.from({ length: 57 }, (_, i) => i + 1));
      expect(all.map((m) => m.body)).to.deep.equal(Array.from({ length: 57 }, (_, i) => `h${i + 1}`));
    });

    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: defaults to the latest 50, oldest first`, async () => {
        const res = await get(srv.url, `${prefix}/city/rooms/${roomId}/messages`);
        expect(res.status).to.equal(200);
        expect(res.body.map((m: { seq: number }) => m.seq)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 8));
      });
    }

    it("pages backwards with before: no gap, no duplicate, each page in seq order", async () => {
      const seen: number[] = [];
      let page = (await get(srv.url, `/city/rooms/${roomId}/messages?limit=10`)).body as { id: string; seq: number }[];
      const pages: number[][] = [];
      while (page.length) {
        pages.push(page.map((m) => m.seq));
        seen.unshift(...page.map((m) => m.seq));
        page = (await get(srv.url, `/city/rooms/${roomId}/messages?limit=10&before=${page[0]!.id}`)).body;
      }
      expect(seen).to.deep.equal(all.map((m) => m.seq));
      expect(pages[0]).to.deep.equal([48, 49, 50, 51, 52, 53, 54, 55, 56, 57]);
      expect(pages.at(-1)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    });

    it("pages forwards with after: no gap, no duplicate", async () => {
      const seen: number[] = [];
      let page = (await get(srv.url, `/city/rooms/${roomId}/messages?limit=8&after=${all[0]!.id}`)).body as { id: string; seq: number }[];
      seen.push(1);
      while (page.length) {
        expect(page.map((m) => m.seq)).to.deep.equal([...page.map((m) => m.seq)].sort((a, b) => a - b));
        seen.push(...page.map((m) => m.seq));
        page = (await get(srv.url, `/city/rooms/${roomId}/messages?limit=8&after=${page.at(-1)!.id}`)).body;
      }
      expect(seen).to.deep.equal(all.map((m) => m.seq));
    });

    it("with before and after returns what lies strictly between", async () => {
      const res = await get(srv.url, `/city/rooms/${roomId}/messages?after=${all[9]!.id}&before=${all[15]!.id}`);
      expect(res.body.map((m: { seq: number }) => m.seq)).to.deep.equal([11, 12, 13, 14, 15]);
    });

    it("refuses a cursor that names no message of this room, and bad limits", async () => {
      const other = await makeRoom(srv.url, olena);
      const foreign = (await post(srv.url, `/city/rooms/${other}/messages`, { body: "elsewhere" }, olena)).body.id;
      expect(expectError(await get(srv.url, `/city/rooms/${roomId}/messages?before=${foreign}`), 400).field).to.equal("before");
      expect(expectError(await get(srv.url, `/city/rooms/${roomId}/messages?after=nope`), 400).field).to.equal("after");
      for (const limit of ["0", "abc", "-1", "1.5"]) {
        expect(expectError(await get(srv.url, `/city/rooms/${roomId}/messages?limit=${limit}`), 400).field).to.equal("limit");
      }
      expectError(await get(srv.url, "/city/rooms/room_city_missing-room/messages"), 404);
    });

    it("reads a limit above 200 as 200: the largest page, not an error", async () => {
      const big = await makeRoom(srv.url, olena);
      for (let i = 0; i < 205; i += 41) {
        await Promise.all(Array.from({ length: Math.min(41, 205 - i) }, (_, j) => post(srv.url, `/city/rooms/${big}/messages`, { body: `m${i + j}` }, olena)));
      }
      for (const limit of ["201", "500"]) {
        const page = await get(srv.url, `/city/rooms/${big}/messages?limit=${limit}`);
        expect(page.status).to.equal(200);
        expect(page.body).to.have.length(200);
      }
      expect((await get(srv.url, `/city/rooms/${big}/messages`)).body).to.have.length(50);
    });
  });

  describe("join and leave", () => {
    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: join adds the token user as an online member and leave removes it (204 each)`, async () => {
        const roomId = await makeRoom(srv.url, olena);
        // Joining is presence: the member counts online at once (members_online, from presence:room:{id}).
        const members = async () => (await get(srv.url, `/city/rooms/${roomId}`)).body.members_online;
        const join = await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/join`, { token: olena });
        expect(join.status).to.equal(204);
        expect(join.text).to.equal("");
        expect(await members()).to.equal(1);
        expect((await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/join`, { token: olena })).status).to.equal(204);
        expect(await members()).to.equal(1);
        expect((await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/leave`, { token: olena })).status).to.equal(204);
        expect(await members()).to.equal(0);
        expect((await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/leave`, { token: olena })).status).to.equal(204);
      });
    }

    it("answers 404 for an unknown room and 401 without a token", async () => {
      const roomId = await makeRoom(srv.url, olena);
      for (const prefix of PREFIXES) {
        for (const action of ["join", "leave"]) {
          expectError(await call(srv.url, "POST", `${prefix}/city/rooms/room_city_ghost-town/${action}`, { token: olena }), 404);
          expectError(await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/${action}`), 401, "unauthorized");
        }
      }
      expect((await get(srv.url, `/city/rooms/${roomId}`)).body.members_online).to.equal(0);
    });
  });

  describe("atomicity of the message write", () => {
    let side: Awaited<ReturnType<typeof createTestDatabase>>;
    let sideSrv: TestServer;
    let sideDb: pg.Pool;

    before(async function () {
      this.timeout(120_000);
      side = await createTestDatabase("city_test_atomic");
      await migrate(side.url);
      sideDb = testPool(side.url);
      // The feed insert fails for one marker body; the message insert in the same statement must
      // then leave no row either.
      await sideDb.query(`ALTER TABLE city_feed_events ADD CONSTRAINT ck_test_refuse_marker CHECK (payload->>'body' <> 'REFUSE-FEED')`);
      sideSrv = await startServerOn(side.url);
    });
    after(async () => {
      await sideSrv?.stop();
      await sideDb?.end();
      await side?.drop();
    });

    it("fails only the bad message when it is written together with concurrent good ones", async () => {
      const rows = async () => (await sideDb.query("SELECT body FROM city_room_messages WHERE room_id = 'room_city_welcome'")).rows.map((r) => r.body);
      const bodies = Array.from({ length: 60 }, (_, i) => (i % 20 === 10 ? "REFUSE-FEED" : `good ${i}`));
      const results = await Promise.all(
        bodies.map((body, i) => post(sideSrv.url, "/city/rooms/room_city_welcome/messages", { body }, userToken(`u_n${i}`))),
      );
      for (const [i, res] of results.entries()) {
        if (bodies[i] === "REFUSE-FEED") expect(res.status, res.text).to.be.within(500, 599);
        else expect(res.status, `good ${i}: ${res.text}`).to.equal(201);
      }
      expect((await rows()).sort()).to.deep.equal(bodies.filter((b) => b !== "REFUSE-FEED").sort());
      const seqs = results.filter((r) => r.status === 201).map((r) => r.body.seq as number).sort((a, b) => a - b);
      expect(seqs).to.deep.equal(Array.from({ length: 57 }, (_, i) => i + 1));
    });

    it("leaves no message when its feed event cannot be written, and the room's seq does not move", async () => {
      const ok = await post(sideSrv.url, "/city/rooms/room_city_general/messages", { body: "fine" }, olena);
      expect(ok.status).to.equal(201);
      const failed = await post(sideSrv.url, "/city/rooms/room_city_general/messages", { body: "REFUSE-FEED", client_message_id: "c-refused" }, olena);
      expect(failed.status).to.not.equal(201);
      expect(failed.status).to.not.equal(200);
      expectError(failed, failed.status);
      const rows = await sideDb.query("SELECT body, seq FROM city_room_messages WHERE room_id = 'room_city_general' ORDER BY seq");
      expect(rows.rows).to.deep.equal([{ body: "fine", seq: 1 }]);
      const room = await sideDb.query("SELECT last_seq FROM city_rooms WHERE id = 'room_city_general'");
      expect(room.rows[0].last_seq).to.equal(1);
      const next = await post(sideSrv.url, "/city/rooms/room_city_general/messages", { body: "after" }, olena);
      expect(next.body.seq).to.equal(2);
      // The refused client_message_id was not remembered: a retry after the fault is a new write.
      await sideDb.query("ALTER TABLE city_feed_events DROP CONSTRAINT ck_test_refuse_marker");
      const retry = await post(sideSrv.url, "/city/rooms/room_city_general/messages", { body: "REFUSE-FEED", client_message_id: "c-refused" }, olena);
      expect(retry.status).to.equal(201);
      expect(retry.body.seq).to.equal(3);
    });
  });
});

/** startServer reads TEST_DATABASE_URL; point it at another database for one server. */
async function startServerOn(url: string): Promise<TestServer> {
  const saved = process.env.TEST_DATABASE_URL;
  process.env.TEST_DATABASE_URL = url;
  try {
    return await startServer(FUNCTIONAL_ENV);
  } finally {
    process.env.TEST_DATABASE_URL = saved;
  }
}
