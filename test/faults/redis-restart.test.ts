// Redis dies during traffic and comes back empty (a private redis-server without persistence,
// killed with SIGKILL): the API stays up (writes still land, liveness 200, readiness 503 then 200,
// no 500), clients on both workers and both protocols end with every message exactly once in seq
// order, clients that reconnect recover by last_message_id, presence is rebuilt by the next
// heartbeats with no false offline, the presence sweep and Second Me's BullMQ queue resume.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { startServer, type TestServer } from "../support/server.js";
import { SioClient, WsClient, until, type Recorded } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { privateRedis, sleep, type PrivateService } from "./support.js";

type Msg = { id: string; seq: number };
const seqs = (events: Recorded[]) => events.filter((e) => e.event === "room.message").map((e) => (e.message as Msg).seq);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function postClose(url: string, path: string, token: string | undefined, body: unknown) {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json", connection: "close", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, worker: res.headers.get("x-city-worker") };
}

const status = async (url: string, path: string) => (await fetch(url + path, { headers: { connection: "close" } })).status;

describe("faults: Redis restarts during traffic", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const alice = userToken(`u_rr_alice_${run}`);
  const steady = [`u_rr_steady1_${run}`, `u_rr_steady2_${run}`];
  let redis: PrivateService;
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  let room: string;
  /** Clients that stay connected through the outage, on both workers and both protocols. */
  const stay: { name: string; events: Recorded[]; close(): void }[] = [];
  let watcher: SioClient;
  const heartbeaters: SioClient[] = [];
  let beat: NodeJS.Timeout | undefined;
  let lastBeforeOutage: Msg;
  let posted = 0;

  before(async function () {
    this.timeout(60_000);
    redis = await privateRedis();
    standin = await startAgentsCoreStandin({ port: 0 });
    srv = await startServer({
      REDIS_URL: redis.url,
      AGENTS_CORE_URL: standin.url,
      SECONDME_TIMEOUT_MS: "8000",
      // Short enough to see the sweep work, long enough that a loaded machine's scheduling
      // hiccup is not an expiry of users who keep beating every 400 ms.
      PRESENCE_TTL_SECONDS: "6",
      PRESENCE_SWEEP_INTERVAL_MS: "500",
      PRESENCE_GRACE_MS: "300",
    });
    room = await freshRoom(srv.url, alice, "rr");
    // Two Socket.IO and two raw-ws clients, until each kind has one on each worker.
    for (const kind of ["sio", "ws"] as const) {
      const byWorker = new Map<string, SioClient | WsClient>();
      for (let i = 0; i < 8 && byWorker.size < 2; i++) {
        const c = kind === "sio" ? await SioClient.connect(srv.url, "/city/rooms") : await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
        const w = await c.worker();
        if (byWorker.has(w)) c.close();
        else byWorker.set(w, c);
      }
      expect(byWorker.size, `${kind} clients on both workers`).to.equal(2);
      for (const [w, c] of byWorker) {
        if (c instanceof SioClient) await c.emitAck("room.join", { room_id: room });
        stay.push({ name: `${kind}@${w}`, events: c.events, close: () => c.close() });
      }
    }
    // Presence: two users heartbeating every 400 ms (TTL 6 s), and an anonymous watcher.
    watcher = await SioClient.connect(srv.url, "/city/presence");
    for (const u of steady) heartbeaters.push(await SioClient.connect(srv.url, "/city/presence", { token: userToken(u) }));
    beat = setInterval(() => heartbeaters.forEach((h) => h.socket.emit("presence.heartbeat", {})), 400);
    // The job process starts after the API: wait until its sweep scheduler is in Redis, so the
    // outage hits a running system (and wipes the scheduler with everything else).
    const r = createRedis(redis.url, "commands", "city-test-faults");
    try {
      const deadline = Date.now() + 20_000;
      while (!(await r.exists("city:bull:presence-sweep:repeat"))) {
        if (Date.now() > deadline) throw new Error(`the sweep scheduler never appeared:\n${srv.output()}`);
        await sleep(200);
      }
    } finally {
      await closeRedis(r);
    }
  });

  after(async function () {
    this.timeout(30_000);
    clearInterval(beat);
    stay.forEach((c) => c.close());
    heartbeaters.forEach((h) => h.close());
    watcher?.close();
    await srv?.stop();
    await standin?.close();
    await redis?.stop();
  });

  const postMessage = async (body: string) => {
    const r = await postClose(srv.url, `/city/rooms/${room}/messages`, alice, { body, client_message_id: `rr-${body}` });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    posted++;
    return r.body as Msg;
  };

  it("before: every client gets the first messages; presence is online", async () => {
    for (let i = 1; i <= 5; i++) lastBeforeOutage = await postMessage(`before-${i}`);
    for (const c of stay) await until(() => (seqs(c.events).length >= 5 ? true : undefined), 10_000, `5 messages on ${c.name}`);
    const p = await api<Record<string, string>>(srv.url, "GET", `/city/presence?user_ids=${steady.join(",")}`);
    expect(Object.values(p.body)).to.deep.equal(["online", "online"]);
  });

  it("during the outage: writes still land, liveness 200, readiness 503, nothing answers 500", async () => {
    await redis.stop("SIGKILL");
    const workers = new Set<string>();
    for (let i = 1; i <= 10; i++) {
      const r = await postClose(srv.url, `/city/rooms/${room}/messages`, alice, { body: `during-${i}`, client_message_id: `rr-during-${i}` });
      expect(r.status, JSON.stringify(r.body)).to.equal(201); // the rate limiter fails open
      posted++;
      workers.add(r.worker!);
    }
    expect([...workers].sort()).to.deep.equal(["1", "2"]);
    expect(await status(srv.url, "/healthz")).to.equal(200);
    expect(await status(srv.url, "/readyz")).to.equal(503);
    expect(await status(srv.url, `/city/rooms/${room}/messages`)).to.equal(200); // PostgreSQL only
    // Reads that need Redis answer a clear 503, never a 500.
    for (const path of [`/city/presence?user_ids=${steady[0]}`, "/city/rooms", `/city/rooms/${room}`]) {
      const res = await fetch(srv.url + path, { headers: { connection: "close" } });
      expect([200, 503], `${path}: ${res.status}`).to.include(res.status);
      if (res.status === 503) expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("unavailable");
    }
  });

  it("after it returns: nothing lost or doubled on any client, rejoin by last_message_id, presence rebuilt, queues resume", async () => {
    // A client that was away during the outage reconnects afterwards with what it saw last.
    await redis.start();
    const deadline = Date.now() + 15_000;
    while ((await status(srv.url, "/readyz")) !== 200) {
      if (Date.now() > deadline) throw new Error(`readiness did not return:\n${srv.output()}`);
      await sleep(200);
    }
    for (let i = 1; i <= 5; i++) await postMessage(`after-${i}`);
    const total = posted;
    expect(total).to.equal(20);
    const sio = await SioClient.connect(srv.url, "/city/rooms", { token: alice });
    await sio.emitAck("room.join", { room_id: room, last_message_id: lastBeforeOutage.id });
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}?last_message_id=${lastBeforeOutage.id}`);
    try {
      for (const c of stay) await until(() => (seqs(c.events).length >= total ? true : undefined), 15_000, `all ${total} on ${c.name}`);
      await until(() => (seqs(sio.events).length >= total - 5 ? true : undefined), 10_000, "replay on socket.io");
      await until(() => (seqs(ws.events).length >= total - 5 ? true : undefined), 10_000, "replay on ws");
      await sleep(300); // a duplicate would arrive late
      for (const c of stay) expect(seqs(c.events), c.name).to.deep.equal(range(1, total));
      expect(seqs(sio.events)).to.deep.equal(range(6, total));
      expect(seqs(ws.events)).to.deep.equal(range(6, total));
      const hist = await api<Msg[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
      expect(hist.body.map((m) => m.seq)).to.deep.equal(range(1, total));
    } finally {
      sio.close();
      ws.close();
    }

    // Presence came back from the heartbeats alone, and nobody who kept beating was called offline.
    const p = await api<Record<string, string>>(srv.url, "GET", `/city/presence?user_ids=${steady.join(",")}`);
    expect(Object.values(p.body)).to.deep.equal(["online", "online"]);

    // Second Me: the job workers' BullMQ connections came back.
    const sm = userToken(`u_rr_sm_${run}`);
    const inv = await api<{ reply: string }>(srv.url, "POST", "/secondme/invoke", { token: sm, body: { prompt: "still there?" } });
    expect(inv.status, JSON.stringify(inv.body)).to.equal(200);
    expect(inv.body.reply).to.equal("echo: still there? (context: 0)");
    // ... and the queue's global concurrency bound, lost with the data, was set again.
    const r = createRedis(redis.url, "commands", "city-test-faults");
    try {
      expect(await r.hget("city:bull:secondme:meta", "concurrency")).to.equal("16");
    } finally {
      await closeRedis(r);
    }

    // The sweep runs again: a user who beats once and then falls silent (socket still open) is
    // called offline after the TTL.
    const quiet = `u_rr_quiet_${run}`;
    const q = await SioClient.connect(srv.url, "/city/presence", { token: userToken(quiet) });
    try {
      await q.emitAck("presence.heartbeat", {});
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === quiet && e.status === "online", 5_000, "quiet online");
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === quiet && e.status === "offline", 15_000, "quiet swept offline");
    } finally {
      q.close();
    }
    const falseOffline = watcher.events.filter((e) => e.event === "presence.update" && steady.includes(e.user_id as string) && e.status === "offline");
    expect(falseOffline, "offline updates for users who kept beating").to.deep.equal([]);
  });
});
