// Rate limits held across workers (Redis token buckets): REST writes per user, per message author
// and per IP answer 429 rate_limited with Retry-After; message posts share one bucket across REST,
// Socket.IO and raw ws; reads are never limited; the limiter fails open without Redis. And the
// per-connection flood guard: a socket that floods gets errors, then is disconnected.
import { dropKeys } from "../support/redis-keys.js";
import { expect } from "chai";
import { createRateLimiter } from "../../src/ratelimit/index.js";
import { closeRedis, createRedis, type Redis } from "../../src/infra/redis/redis.js";
import { startServer, freePort, type TestServer } from "../support/server.js";
import { SioClient, WsClient, until } from "../support/clients.js";
import { freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const run = Math.random().toString(36).slice(2, 10);
const PREFIX = `city:rl:test:${run}`;

async function post(base: string, path: string, body: unknown, token?: string, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method: "POST",
    // A new connection per request, so the front door spreads them over both workers.
    headers: { "content-type": "application/json", connection: "close", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe("hostile: rate limits", function () {
  this.timeout(60_000);
  let redis: Redis;
  before(async () => {
    redis = createRedis(REDIS_URL, "commands", "city-test-rl");
    await redis.ping(); // until it is ready, the limiter would (rightly) fail open
  });
  after(async () => {
    await dropKeys(`${PREFIX}*`, redis);
    await closeRedis(redis);
  });

  describe("the limiter", () => {
    // The buckets' clock is the test's: time moves only when the test says, so every figure is exact.
    let now = 1_700_000_000_000;
    const clock = () => now;

    it("lets a burst through, refuses with the exact wait for the next token, and refills at the rate", async () => {
      const limiter = createRateLimiter({ redis, prefix: PREFIX, clock });
      const charge = [{ scope: "unit", id: "burst", rule: { ratePerSec: 1, burst: 3 } }];
      const out = [];
      for (let i = 0; i < 5; i++) out.push(await limiter.take(charge));
      expect(out.map((d) => d.allowed)).to.deep.equal([true, true, true, false, false]);
      expect(out[3]).to.include({ retryAfterMs: 1000, scope: "unit" });
      now += 999;
      expect(await limiter.take(charge)).to.include({ allowed: false, retryAfterMs: 1 });
      now += 1;
      expect((await limiter.take(charge)).allowed, "one token a second").to.equal(true);
      expect(await limiter.take(charge)).to.include({ allowed: false, retryAfterMs: 1000 });
      // The key lives only while the bucket is not full: full again 3 s after the last take.
      expect(await redis.pttl(`${PREFIX}:unit:burst`)).to.be.within(2_900, 3_001);
      now += 3_000;
      const refilled = [];
      for (let i = 0; i < 4; i++) refilled.push((await limiter.take(charge)).allowed);
      expect(refilled, "a full bucket holds the burst, no more").to.deep.equal([true, true, true, false]);
    });

    it("takes a cost of several tokens from a bucket at once", async () => {
      const limiter = createRateLimiter({ redis, prefix: PREFIX, clock });
      const charge = [{ scope: "unit", id: "cost", rule: { ratePerSec: 2, burst: 5 } }];
      expect((await limiter.take(charge, 3)).allowed).to.equal(true);
      expect(await limiter.take(charge, 3)).to.include({ allowed: false, retryAfterMs: 500 });
      expect((await limiter.take(charge, 2)).allowed).to.equal(true);
    });

    it("switches a bucket off with a rate of 0", async () => {
      const limiter = createRateLimiter({ redis, prefix: PREFIX, clock });
      const off = [{ scope: "unit", id: "off", rule: { ratePerSec: 0, burst: 1 } }];
      for (let i = 0; i < 3; i++) expect((await limiter.take(off)).allowed).to.equal(true);
      expect(await redis.exists(`${PREFIX}:unit:off`)).to.equal(0);
    });

    it("charges every bucket or none: a full IP bucket does not spend the user's tokens", async () => {
      const limiter = createRateLimiter({ redis, prefix: PREFIX, clock });
      const ip = { scope: "unit-ip", id: "a", rule: { ratePerSec: 0.01, burst: 1 } };
      const user = { scope: "unit-user", id: "b", rule: { ratePerSec: 0.01, burst: 2 } };
      expect((await limiter.take([ip, user])).allowed).to.equal(true);
      const refused = await limiter.take([ip, user]);
      expect(refused).to.include({ allowed: false, scope: "unit-ip" });
      // The user still has its second token: the refused take spent nothing.
      expect((await limiter.take([user])).allowed).to.equal(true);
      expect((await limiter.take([user])).allowed).to.equal(false);
    });

    it("fails open at once when Redis cannot be reached", async () => {
      const dead = createRedis(`redis://127.0.0.1:${await freePort()}/0`, "commands", "city-test-dead");
      try {
        const warned: unknown[] = [];
        const limiter = createRateLimiter({ redis: dead, prefix: PREFIX, onFailOpen: (e) => warned.push(e) });
        const t0 = Date.now();
        const rule = { ratePerSec: 1, burst: 1 };
        const d = await limiter.take([{ scope: "unit", id: "dead", rule }]);
        await limiter.take([{ scope: "unit", id: "dead", rule }]);
        expect(d).to.include({ allowed: true, failedOpen: true });
        expect(Date.now() - t0).to.be.below(300);
        expect(warned).to.have.length(1); // told once when it starts failing open, not once per request
      } finally {
        dead.disconnect();
      }
    });
  });

  describe("on the real cluster", () => {
    let srv: TestServer;
    const alice = userToken(`u_rl_alice_${run}`);
    let room: string;

    before(async () => {
      srv = await startServer({
        RATE_LIMIT_PREFIX: PREFIX,
        // Refills of one token per 100 s: counts cannot depend on how fast a loaded machine answers
        // (the refill itself is proved on the limiter above).
        RATE_LIMIT_MESSAGES_PER_SEC: "0.01",
        RATE_LIMIT_MESSAGES_BURST: "5",
        RATE_LIMIT_USER_WRITES_PER_SEC: "0.01",
        RATE_LIMIT_USER_WRITES_BURST: "12",
        RATE_LIMIT_IP_WRITES_PER_SEC: "0.01",
        RATE_LIMIT_IP_WRITES_BURST: "8",
      });
      // Room creation spends a token of the creator's write bucket and of the IP's: a private IP.
      room = await freshRoom(srv.url, userToken(`u_rl_owner_${run}`)).catch(async (err) => {
        throw new Error(`${err}\n${srv.output()}`);
      });
    });
    after(async () => {
      await srv?.stop();
    });

    const ipHeader = (n: number) => ({ "x-forwarded-for": `198.51.100.${n}` });

    it("holds one message bucket per user across both workers: 429 rate_limited with Retry-After", async () => {
      const results = await Promise.all(
        Array.from({ length: 14 }, (_, i) => post(srv.url, `/city/rooms/${room}/messages`, { body: `m${i}` }, alice, ipHeader(1 + (i % 7)))),
      );
      const workers = new Set(results.map((r) => r.headers.get("x-city-worker")));
      expect([...workers].sort(), "requests reached both workers").to.deep.equal(["1", "2"]);
      const ok = results.filter((r) => r.status === 201);
      const limited = results.filter((r) => r.status === 429);
      // Alone, each worker would have let its own 5 through; the shared bucket lets 5 through in all.
      expect(ok.length).to.equal(5);
      expect(ok.length + limited.length).to.equal(14);
      for (const r of limited) {
        expect(r.body.error.code).to.equal("rate_limited");
        expect(r.body.error.message).to.match(/too many requests/i);
        expect(Number(r.headers.get("retry-after"))).to.be.at.least(1);
        expect(r.body.error.retry_after).to.equal(Number(r.headers.get("retry-after")));
      }
      // Reads are never limited.
      const reads = await Promise.all(Array.from({ length: 30 }, () => fetch(`${srv.url}/city/rooms/${room}/messages`)));
      expect(reads.every((r) => r.status === 200)).to.equal(true);
    });

    it("shares the message bucket between REST, Socket.IO and raw ws; the sockets survive the refusal", async () => {
      const bob = userToken(`u_rl_bob_${run}`);
      const sio = await SioClient.connect(srv.url, "/city/rooms", { token: bob });
      const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: bob });
      try {
        // Spend bob's message bucket over REST (5 tokens).
        for (let i = 0; i < 5; i++) expect((await post(srv.url, `/city/rooms/${room}/messages`, { body: `b${i}` }, bob, ipHeader(20 + i))).status).to.equal(201);
        expect((await post(srv.url, `/city/rooms/${room}/messages`, { body: "b5" }, bob, ipHeader(25))).status).to.equal(429);
        const ack = await sio.emitAck("room.message.send", { room_id: room, body: "over the limit", client_message_id: "sio-1" });
        expect(ack).to.include({ event: "error", code: "rate_limited", ref: "sio-1" });
        expect(ack.retry_after).to.be.a("number").and.at.least(1);
        ws.send({ event: "room.message.send", room_id: room, body: "over the limit", client_message_id: "ws-1" });
        const err = await ws.waitFor((e) => e.event === "error" && e.ref === "ws-1", 5_000, "ws error");
        expect(err.code).to.equal("rate_limited");
        expect(err.retry_after).to.be.a("number").and.at.least(1);
        // Both stay connected and usable.
        expect(await sio.worker()).to.be.oneOf(["1", "2"]);
        expect(await ws.worker()).to.be.oneOf(["1", "2"]);
        expect(sio.socket.connected).to.equal(true);
        expect(ws.closed).to.equal(undefined);
      } finally {
        sio.close();
        ws.close();
      }
    });

    it("limits writes per IP whoever signs them, and a spoofed X-Forwarded-For does not escape it", async () => {
      // 12 writes from 12 different users through one proxy address; the client's own (leftmost)
      // X-Forwarded-For entries vary and must not count as the address.
      const results = [];
      for (let i = 0; i < 12; i++) {
        const token = userToken(`u_rl_ip_${run}_${i}`);
        results.push(await post(srv.url, "/city/rooms", { name: `ip ${i}`, slug: `rl-${run}-${i}` }, token, { "x-forwarded-for": `10.9.${i}.1, 203.0.113.77` }));
      }
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201).length).to.equal(8);
      expect(statuses.slice(-2)).to.deep.equal([429, 429]);
      expect(results.at(-1)!.body.error.code).to.equal("rate_limited");
      // Unauthenticated writes spend the IP's tokens too (and still answer 429 first).
      const anon = await post(srv.url, "/city/rooms", { name: "x" }, undefined, { "x-forwarded-for": "203.0.113.77" });
      expect(anon.status).to.equal(429);
      // Another address is unaffected.
      const other = await post(srv.url, "/city/rooms", { name: "other", slug: `rl-${run}-other` }, userToken(`u_rl_ip_${run}_x`), { "x-forwarded-for": "203.0.113.78" });
      expect(other.status).to.equal(201);
    });

    it("limits every REST write per user, not only messages", async () => {
      const carol = userToken(`u_rl_carol_${run}`);
      const statuses = [];
      for (let i = 0; i < 15; i++) {
        statuses.push((await post(srv.url, `/city/rooms/${room}/join`, {}, carol, ipHeader(100 + i))).status);
      }
      expect(statuses.filter((s) => s === 204).length).to.equal(12);
      expect(statuses.at(-1)).to.equal(429);
    });

    it("a raw-ws flood gets rate_limited errors, then the connection is closed (1008)", async () => {
      const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: alice });
      for (let i = 0; i < 300; i++) ws.send({ event: "room.leave", room_id: "room_city_nowhere" });
      await until(() => ws.closed, 10_000, "the flooder to be disconnected");
      expect(ws.closed!.code).to.equal(1008);
      const limited = ws.events.filter((e) => e.event === "error" && e.code === "rate_limited");
      expect(limited.length).to.be.at.least(10);
      // The guard let a burst through before refusing.
      expect(limited.length).to.be.below(300);
      expect((await fetch(`${srv.url}/healthz`)).status).to.equal(200);
    });

    it("a Socket.IO flood gets rate_limited errors, then is disconnected", async () => {
      const sio = await SioClient.connect(srv.url, "/city/rooms", { token: alice });
      let reason = "";
      sio.socket.on("disconnect", (r) => (reason = r));
      for (let i = 0; i < 300; i++) sio.socket.emit("room.leave", { room_id: "room_city_nowhere" });
      await until(() => (reason ? true : undefined), 10_000, "the flooder to be disconnected");
      expect(reason).to.equal("io server disconnect");
      expect(sio.events.filter((e) => e.event === "error" && e.code === "rate_limited").length).to.be.at.least(10);
    });
  });
});
