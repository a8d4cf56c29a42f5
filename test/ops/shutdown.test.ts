// Graceful shutdown (CONTRACT §1): SIGTERM during traffic loses no acknowledged message and the
// primary exits 0 in time; readiness answers 503 `draining` before connections are refused; a
// worker that stops tells its clients to reconnect, and they land on another worker.
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import pg from "pg";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { freshRoom } from "../support/api.js";
import { SioClient, WsClient, until } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";
import { startAgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { auth, userToken } from "../support/tokens.js";
import { dropKeys } from "./support.js";

const run = Math.random().toString(36).slice(2, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exitOf(srv: TestServer): Promise<number | null> {
  const child = srv.process;
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function storedIds(roomId: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>("SELECT id FROM city_room_messages WHERE room_id = $1", [roomId]);
    return new Set(rows.map((r) => r.id));
  } finally {
    await client.end();
  }
}

/** The pid of the cluster worker in `slot`, a child of the primary (its env names the slot). */
function workerPid(primaryPid: number, slot: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      if (ppid !== primaryPid) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (env.includes(`CITY_WORKER_ID=${slot}`) && /src\/worker\.[jt]s/.test(readFileSync(`/proc/${entry}/cmdline`, "utf8"))) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error(`no worker in slot ${slot} under pid ${primaryPid}`);
}

describe("ops: graceful shutdown", function () {
  this.timeout(180_000);

  it("SIGTERM during REST and socket traffic: every acknowledged message is stored, clients are told to reconnect, exit 0 in time", async () => {
    const srv = await startServer({ RATE_LIMIT_ENABLED: "false", SHUTDOWN_TIMEOUT_MS: "15000" });
    let stopped = false;
    try {
      const token = userToken(`u_shutdown_${run}`);
      const room = await freshRoom(srv.url, token, "shutdown");
      const acked = { rest: new Set<string>(), ws: new Set<string>(), sio: new Set<string>() };
      let n = 0;

      const restLoop = async () => {
        for (;;) {
          try {
            const res = await fetch(`${srv.url}/city/rooms/${room}/messages`, {
              method: "POST",
              headers: { ...auth(token), "content-type": "application/json" },
              body: JSON.stringify({ body: `rest ${n}`, client_message_id: `rest-${run}-${n++}` }),
            });
            const body = (await res.json()) as { id?: string };
            if (res.status === 201 && body.id) acked.rest.add(body.id);
          } catch {
            if (stopped) return; // refused or cut: the server is going away
          }
          if (stopped && srv.process.exitCode !== null) return;
        }
      };

      const wsClients = await Promise.all([0, 1].map(() => WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token })));
      for (const c of wsClients) {
        c.ws.on("message", (data) => {
          const ev = JSON.parse(String(data)) as { event: string; message?: { id: string } };
          if (ev.event === "room.message.ack" && ev.message) acked.ws.add(ev.message.id);
        });
      }
      const wsLoop = async (c: WsClient) => {
        while (c.ws.readyState === WebSocket.OPEN) {
          c.send({ event: "room.message.send", room_id: room, body: `ws ${n}`, client_message_id: `ws-${run}-${n++}` });
          await sleep(80); // under the per-connection flood guard (20 events/s)
        }
      };

      const sio = io(`${srv.url}/city/rooms`, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
      await new Promise<void>((resolve, reject) => {
        sio.once("connect", () => resolve());
        sio.once("connect_error", reject);
      });
      let sioReason: string | undefined;
      sio.on("disconnect", (reason) => (sioReason = reason));
      const sioLoop = async () => {
        while (sio.connected) {
          try {
            const ack = (await sio.timeout(20_000).emitWithAck("room.message.send", { room_id: room, body: `sio ${n}`, client_message_id: `sio-${run}-${n++}` })) as {
              event: string;
              message?: { id: string };
            };
            if (ack.event === "room.message.ack" && ack.message) acked.sio.add(ack.message.id);
          } catch {
            return; // no ack: the connection closed first
          }
        }
      };

      const traffic = [restLoop(), restLoop(), restLoop(), ...wsClients.map(wsLoop), sioLoop()];
      await until(() => (acked.rest.size >= 20 && acked.ws.size >= 10 && acked.sio.size >= 5 ? true : undefined), 60_000, "traffic in flight");

      const t0 = Date.now();
      stopped = true;
      srv.process.kill("SIGTERM");
      const code = await exitOf(srv);
      const took = Date.now() - t0;
      await Promise.all(traffic);

      expect(code, srv.output().slice(-3000)).to.equal(0);
      expect(took, "the primary's stop").to.be.below(40_000);
      const stored = await storedIds(room);
      for (const [protocol, ids] of Object.entries(acked)) {
        const lost = [...ids].filter((id) => !stored.has(id));
        expect(lost, `${protocol}: acknowledged but not stored`).to.deep.equal([]);
      }
      // Told to reconnect, not dismissed: 1012 for raw ws, a closed transport for Socket.IO.
      for (const c of wsClients) {
        await until(() => c.closed, 10_000, "the ws close");
        expect(c.closed!.code).to.be.oneOf([1012, 1006]);
      }
      expect(wsClients.some((c) => c.closed!.code === 1012), "at least one ws closed with 1012").to.equal(true);
      expect(sioReason).to.be.oneOf(["transport close", "transport error"]);
      sio.close();
    } finally {
      stopped = true;
      if (srv.process.exitCode === null) await srv.stop();
    }
  });

  it("SIGTERM during a Second Me call: the job workers finish the job and the caller still gets its reply", async () => {
    const standin = await startAgentsCoreStandin({ port: 0 });
    const srv = await startServer({ AGENTS_CORE_URL: standin.url, AGENTS_SERVICE_URL: "", AGENTS_TRANSPORT: "http", SECONDME_TIMEOUT_MS: "90000", BULLMQ_PREFIX: `city:test:${run}:stop:bull` });
    try {
      const token = userToken(`u_stop_sm_${run}`);
      // The job workers start after the API: wait until they answer before the call that matters.
      const warm = await fetch(`${srv.url}/secondme/invoke`, {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json" },
        body: JSON.stringify({ prompt: "warm up" }),
      });
      expect(warm.status).to.equal(200);
      const presence = await SioClient.connect(srv.url, "/city/presence", { token });
      const call = fetch(`${srv.url}/secondme/invoke`, {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json" },
        body: JSON.stringify({ prompt: "[[slow:3000]] still there?" }),
      });
      await presence.waitFor((e) => e.event === "secondme.status" && e.state === "thinking", 30_000, "the job running");
      srv.process.kill("SIGTERM");
      const res = await call;
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { reply: string }).reply).to.include("still there?");
      expect(await exitOf(srv), srv.output().slice(-3000)).to.equal(0);
      presence.close();
    } finally {
      if (srv.process.exitCode === null) await srv.stop();
      await standin.close();
      await dropKeys(`city:test:${run}:stop:bull:*`);
    }
  });

  it("readiness answers 503 draining during SHUTDOWN_DELAY_MS while everything else is still served, then exits 0", async () => {
    const srv = await startServer({ SHUTDOWN_DELAY_MS: "4000" });
    try {
      const get = (path: string) => fetch(`${srv.url}${path}`, { signal: AbortSignal.timeout(10_000) });
      expect((await get("/readyz")).status).to.equal(200);
      srv.process.kill("SIGTERM");
      let seen: { status: number; body: { status: string } } | undefined;
      const deadline = Date.now() + 4_000;
      while (!seen && Date.now() < deadline) {
        const res = await get("/readyz");
        const body = (await res.json()) as { status: string };
        if (res.status === 503) seen = { status: res.status, body };
        else await sleep(50);
      }
      expect(seen?.body.status).to.equal("draining");
      // Liveness and the API still answer while the load balancer moves traffic away.
      expect((await get("/healthz")).status).to.equal(200);
      expect((await get("/city/rooms")).status).to.equal(200);
      expect(await exitOf(srv), srv.output().slice(-3000)).to.equal(0);
    } finally {
      if (srv.process.exitCode === null) await srv.stop();
    }
  });

  it("a worker that stops tells its clients to reconnect: Socket.IO comes back on a live worker, raw ws gets 1012 and replays", async () => {
    const srv = await startServer({ RATE_LIMIT_ENABLED: "false" });
    try {
      const token = userToken(`u_reconnect_${run}`);
      const room = await freshRoom(srv.url, token, "reconnect");

      // A Socket.IO client that reconnects by itself, and a raw ws client on the same worker.
      const sock = io(`${srv.url}/city/rooms`, { auth: { token }, transports: ["websocket"], reconnectionDelay: 200, forceNew: true });
      const client = new SioClient(sock);
      await until(() => (sock.connected ? true : undefined), 20_000, "socket.io connect");
      const slot = await client.worker();
      let raw: WsClient | undefined;
      const spare: WsClient[] = [];
      for (let i = 0; i < 10 && !raw; i++) {
        const c = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token });
        if ((await c.worker()) === slot) raw = c;
        else spare.push(c);
      }
      spare.forEach((c) => c.close());
      expect(raw, "a raw ws client on the same worker").to.not.equal(undefined);
      await client.emitAck("room.join", { room_id: room });
      const first = await client.emitAck("room.message.send", { room_id: room, body: "before the stop", client_message_id: `pre-${run}` });
      const firstId = (first.message as { id: string }).id;
      await raw!.waitFor((e) => e.event === "room.message" && (e.message as { id: string }).id === firstId, 10_000, "the first message");
      const reasons: string[] = [];
      sock.on("disconnect", (reason) => reasons.push(reason));

      process.kill(workerPid(srv.process.pid!, slot), "SIGTERM");

      await until(() => raw!.closed, 20_000, "the raw ws close");
      expect(raw!.closed!.code).to.equal(1012);
      await until(() => (reasons.length ? true : undefined), 20_000, "the socket.io disconnect");
      expect(reasons[0]).to.equal("transport close");
      await until(() => (sock.connected ? true : undefined), 30_000, "socket.io reconnect");
      // Its replacement is starting meanwhile: the cluster's metrics are still served.
      const scrape = await fetch(`${srv.url}/metrics`, { signal: AbortSignal.timeout(15_000) });
      expect(scrape.status, `${await scrape.text()}\n${srv.output().slice(-3000)}`).to.equal(200);

      // Back in service: a message sent after the reconnect is acknowledged and stored; the raw
      // client reconnects with last_message_id and gets it replayed.
      await client.emitAck("room.join", { room_id: room });
      const ack = await client.emitAck("room.message.send", { room_id: room, body: "after the reconnect", client_message_id: `re-${run}` });
      expect(ack.event).to.equal("room.message.ack");
      const again = await WsClient.connect(srv.url, `/ws/city/rooms/${room}?last_message_id=${firstId}`, { token });
      await again.waitFor((e) => e.event === "room.message" && (e.message as { id: string }).id === (ack.message as { id: string }).id, 10_000, "the replayed message");
      again.close();
      sock.close();
    } finally {
      await srv.stop();
    }
  });
});
