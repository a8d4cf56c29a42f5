// PostgreSQL goes away (a private embedded PostgreSQL, stopped mid-traffic): writes answer 503
// `unavailable` with a clear message on REST and on the sockets, readiness is 503 while liveness
// stays 200, Redis-only reads (presence) still answer, nothing is half-written (every message has
// its feed event, seqs have no hole, every acknowledged write is there), and everything recovers
// by itself when PostgreSQL returns: no restart.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { startServer, type TestServer } from "../support/server.js";
import { SioClient, until, type Recorded } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";
import { privatePostgres, rowCounts, sleep, sql, type PrivatePostgres } from "./support.js";

type Msg = { id: string; seq: number; body: string };
const seqs = (events: Recorded[]) => events.filter((e) => e.event === "room.message").map((e) => (e.message as Msg).seq);

async function req(url: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { connection: "close", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe("faults: PostgreSQL unreachable", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const alice = userToken(`u_pg_alice_${run}`);
  const bob = `u_pg_bob_${run}`;
  let pg: PrivatePostgres;
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  let room: string;
  let listener: SioClient;
  /** Messages the server acknowledged (201), whatever happened afterwards. */
  const acked = new Map<string, Msg>();

  before(async function () {
    this.timeout(90_000);
    [pg, standin] = await Promise.all([privatePostgres(), startAgentsCoreStandin({ port: 0 })]);
    srv = await startServer({
      DATABASE_URL: pg.url,
      AGENTS_CORE_URL: standin.url,
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
      SECONDME_TIMEOUT_MS: "8000",
      SECONDME_BACKOFF_MS: "20",
    });
    room = await freshRoom(srv.url, alice, "pg");
    listener = await SioClient.connect(srv.url, "/city/rooms", { token: alice });
    await listener.emitAck("room.join", { room_id: room });
    for (let i = 1; i <= 3; i++) {
      const r = await req(srv.url, "POST", `/city/rooms/${room}/messages`, alice, { body: `before ${i}` });
      expect(r.status).to.equal(201);
      acked.set(r.body.id, r.body);
    }
    // Second Me works before the outage (and its job process is up).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await req(srv.url, "POST", "/secondme/invoke", userToken(bob), { prompt: "hello" });
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`Second Me never answered: ${JSON.stringify(r.body)}`);
      await sleep(300);
    }
  });

  after(async function () {
    this.timeout(30_000);
    listener?.close();
    await srv?.stop();
    await standin?.close();
    await pg?.destroy();
  });

  it("while it is away: 503 unavailable on every write path, readiness 503, Redis-only reads answer", async () => {
    // Writers keep posting while PostgreSQL stops under them.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const r = await req(srv.url, "POST", `/city/rooms/${room}/messages`, alice, { body: `racing ${i}`, client_message_id: `race-${run}-${i}` }).catch(() => undefined);
        if (r?.status === 201) acked.set(r.body.id, r.body);
        else if (r) expect([503], JSON.stringify(r.body)).to.include(r.status);
      }
    })();
    await sleep(300);
    await pg.stop();
    writing = false;
    await writer;
    expect(acked.size, "racing writes acknowledged before the stop").to.be.greaterThan(3);

    const post = await req(srv.url, "POST", `/city/rooms/${room}/messages`, alice, { body: "lost?", client_message_id: `down-${run}` });
    expect(post.status).to.equal(503);
    expect(post.body.error.code).to.equal("unavailable");
    expect(post.body.error.message).to.match(/unavailable.*try again/i);
    const create = await req(srv.url, "POST", "/city/rooms", alice, { name: "Nope", slug: `pg-nope-${run}` });
    expect(create.status).to.equal(503);
    expect(create.body.error.code).to.equal("unavailable");
    const join = await req(srv.url, "POST", `/city/rooms/${room}/join`, alice);
    expect(join.status).to.equal(503);
    const list = await req(srv.url, "GET", "/city/rooms");
    expect(list.status).to.equal(503);

    const ack = await listener.emitAck("room.message.send", { room_id: room, body: "over the socket", client_message_id: `sock-${run}` });
    expect(ack).to.include({ event: "error", code: "unavailable", ref: `sock-${run}` });
    expect(listener.socket.connected).to.equal(true);

    const sm = await req(srv.url, "POST", "/secondme/invoke", userToken(bob), { prompt: "are you there?" });
    expect(sm.status, JSON.stringify(sm.body)).to.equal(503);
    expect(sm.body.error.code).to.equal("unavailable");

    expect((await req(srv.url, "GET", "/healthz")).status).to.equal(200);
    const ready = await req(srv.url, "GET", "/readyz");
    expect(ready.status).to.equal(503);
    expect(ready.body.checks).to.deep.equal({ postgres: "down", redis: "ok" });

    // Presence lives in Redis only: it still answers, both ways.
    const hb = await SioClient.connect(srv.url, "/city/presence", { token: userToken(bob) });
    try {
      expect(await hb.emitAck("presence.heartbeat", {})).to.include({ user_id: bob, status: "online" });
    } finally {
      hb.close();
    }
    const presence = await req(srv.url, "GET", `/city/presence?user_ids=${bob}`);
    expect(presence.status).to.equal(200);
    expect(presence.body[bob]).to.be.oneOf(["online", "offline"]);
  });

  it("when it returns: recovers by itself, nothing half-written, every acknowledged message kept", async () => {
    await pg.start();
    const deadline = Date.now() + 20_000;
    while ((await req(srv.url, "GET", "/readyz")).status !== 200) {
      if (Date.now() > deadline) throw new Error(`readiness did not return:\n${srv.output()}`);
      await sleep(200);
    }
    // The room's messages: contiguous seqs, each with its one feed event, all acknowledged ones there,
    // none of the refused ones.
    const rows = await sql<{ id: string; seq: number; body: string; events: number }>(
      pg.url,
      `SELECT m.id, m.seq::int AS seq, m.body,
              (SELECT count(*)::int FROM city_feed_events f WHERE f.payload->>'message_id' = m.id) AS events
       FROM city_room_messages m WHERE m.room_id = $1 ORDER BY m.seq`,
      [room],
    );
    expect(rows.map((r) => r.seq)).to.deep.equal(rows.map((_, i) => i + 1));
    expect(rows.every((r) => r.events === 1), "one feed event per message").to.equal(true);
    for (const id of acked.keys()) expect(rows.some((r) => r.id === id), `acknowledged ${id}`).to.equal(true);
    expect(rows.map((r) => r.body)).to.not.include.members(["lost?", "over the socket"]);
    const roomRow = await sql<{ last_seq: number }>(pg.url, "SELECT last_seq::int AS last_seq FROM city_rooms WHERE id = $1", [room]);
    expect(roomRow[0]?.last_seq).to.equal(rows.length);
    const counts = await rowCounts(pg.url);
    expect(counts.city_feed_events).to.equal(counts.city_room_messages);
    expect(counts.city_rooms).to.equal(4); // three default rooms and ours; the refused one is not there

    // Writes work again, on every path, without a restart.
    const post = await req(srv.url, "POST", `/city/rooms/${room}/messages`, alice, { body: "back" });
    expect(post.status).to.equal(201);
    expect(post.body.seq).to.equal(rows.length + 1);
    const ack = await listener.emitAck("room.message.send", { room_id: room, body: "socket back", client_message_id: `sock2-${run}` });
    expect(ack.event).to.equal("room.message.ack");
    await until(() => (seqs(listener.events).includes(rows.length + 2) ? true : undefined), 10_000, "the new messages live");
    // The listener saw every message once, in order, with no gap.
    await sleep(300);
    expect(seqs(listener.events)).to.deep.equal(Array.from({ length: rows.length + 2 }, (_, i) => i + 1));

    const sm = await req(srv.url, "POST", "/secondme/invoke", userToken(bob), { prompt: "back again" });
    expect(sm.status, JSON.stringify(sm.body)).to.equal(200);
  });
});
