// The API cluster's primary and front door, end to end: a real primary with 2 workers running
// test/fixtures/front-door-worker.ts (Koa + Socket.IO with the Redis adapter + raw ws).
import http, { type IncomingHttpHeaders } from "node:http";
import type { Socket as NetSocket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { io as connectIo, type Socket as IoSocket } from "socket.io-client";
import WebSocket from "ws";
import { startPrimary, type Primary } from "../../src/cluster/primary.js";
import { needsSticky, requestTarget } from "../../src/cluster/request-head.js";
import { TESTED_NODE, checkChildProcessInternals, checkNodeInternals } from "../../src/cluster/node-internals.js";

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/front-door-worker.ts");
const REDIS_KEY = `city-front-door-test-${process.pid}-${Date.now()}`;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reused: boolean;
  socket: NetSocket;
}

interface RequestOptions {
  agent?: http.Agent | false;
  body?: string;
  headers?: Record<string, string>;
}

function request(port: number, method: string, pathname: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: pathname, agent: opts.agent ?? false, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket, socket: req.socket as NetSocket }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    // Nothing here should take long; a hang must fail the test, not time it out.
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    if (opts.body !== undefined) req.setHeader("content-type", "application/json");
    req.end(opts.body);
  });
}

const hello = async (port: number, agent?: http.Agent) => JSON.parse((await request(port, "GET", "/hello", { agent })).body) as { worker: string; pid: number };

function ioClient(port: number, transports: string[]): IoSocket {
  return connectIo(`http://127.0.0.1:${port}`, { transports, forceNew: true, reconnection: false });
}

async function connected(socket: IoSocket): Promise<void> {
  if (socket.connected) return;
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

const whoami = (socket: IoSocket) => socket.timeout(5_000).emitWithAck("whoami") as Promise<string>;

/** Opens raw ws connections to /ws/echo; resolves with the worker named in the first frame. */
function rawWs(port: number): Promise<{ ws: WebSocket; worker: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/echo`);
    ws.once("message", (data) => resolve({ ws, worker: (JSON.parse(String(data)) as { worker: string }).worker }));
    ws.once("error", reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Both workers' pids, by worker id, from /hello over fresh connections. */
async function workerPids(port: number): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  return until("both workers to answer", async () => {
    const { worker, pid } = await hello(port);
    pids.set(worker, pid);
    return pids.size === 2 ? pids : undefined;
  });
}

const quiet = () => {};

describe("cluster front door: request routing rules", () => {
  it("needs the whole request line, skipping leading empty lines", () => {
    expect(requestTarget(Buffer.from("GET /hel"))).to.equal(undefined);
    expect(requestTarget(Buffer.from("\r\nGET /hello HTTP/1.1\r\n"))).to.equal("/hello");
    expect(requestTarget(Buffer.from("garbage\r\n"))).to.equal("");
  });

  it("is sticky only for /socket.io/ requests carrying sid", () => {
    expect(needsSticky("/socket.io/?EIO=4&transport=polling&sid=abc")).to.equal(true);
    expect(needsSticky("/socket.io/?EIO=4&transport=polling")).to.equal(false);
    expect(needsSticky("/socket.io/?EIO=4&transport=websocket")).to.equal(false);
    expect(needsSticky("/api/rooms?sid=abc")).to.equal(false);
    expect(needsSticky("/ws/echo")).to.equal(false);
  });
});

describe("cluster front door: Node's private internals", () => {
  it("are all where the front door expects them on this Node", async () => {
    expect(await checkNodeInternals()).to.equal(undefined);
  });

  it("stop start-up with one line naming what changed when they move", () => {
    const worker = { process: {} } as unknown as Parameters<typeof checkChildProcessInternals>[0];
    const line = checkChildProcessInternals(worker);
    expect(line).to.be.a("string").and.not.include("\n");
    expect(line).to.include(process.version).and.include("_handleQueue").and.include(TESTED_NODE);
  });
});

describe("cluster front door: primary with 2 workers", function () {
  this.timeout(20_000);
  let primary: Primary;
  let port: number;

  before(async function () {
    this.timeout(30_000);
    primary = await startPrimary({
      port: 0,
      host: "127.0.0.1",
      workers: 2,
      workerScript: FIXTURE,
      env: { CITY_FIXTURE_REDIS_KEY: REDIS_KEY, CITY_FIXTURE_REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" },
      shutdownTimeoutMs: 5_000,
      log: quiet,
    });
    port = primary.port;
  });

  after(async () => {
    await primary?.close();
  });

  it("serves REST over one kept-alive connection, with no forced close", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies: Reply[] = [];
      for (let i = 0; i < 20; i++) replies.push(await request(port, "GET", "/hello", { agent }));
      const posted = await request(port, "POST", "/echo", { agent, body: JSON.stringify({ n: 42 }) });
      replies.push(posted);
      expect(JSON.parse(posted.body)).to.deep.equal({ n: 42 });
      for (const reply of replies) {
        expect(reply.status).to.equal(200);
        expect(reply.headers.connection).to.not.equal("close");
        expect(reply.socket).to.equal(replies[0]!.socket);
      }
      expect(replies.slice(1).every((r) => r.reused)).to.equal(true);
      // One connection, one worker.
      expect(new Set(replies.map((r) => r.headers["x-city-worker"])).size).to.equal(1);
    } finally {
      agent.destroy();
    }
  });

  it("spreads connections over both workers", async () => {
    const workers = new Set<string>();
    for (let i = 0; i < 6; i++) workers.add((await hello(port)).worker);
    expect([...workers].sort()).to.deep.equal(["1", "2"]);
  });

  it("delivers 200 KB POST bodies intact to both workers", async () => {
    const body = JSON.stringify({ data: "x".repeat(200 * 1024), tail: "end" });
    const workers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const reply = await request(port, "POST", "/echo", { body });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.equal(body);
      workers.add(String(reply.headers["x-city-worker"]));
    }
    expect(workers.size).to.equal(2);
  });

  it("keeps long-polling Socket.IO sessions on their worker for 50 round trips", async () => {
    const clients: IoSocket[] = [];
    try {
      const homes = new Map<IoSocket, string>();
      while (new Set(homes.values()).size < 2 && clients.length < 6) {
        const client = ioClient(port, ["polling"]);
        clients.push(client);
        await connected(client);
        homes.set(client, await whoami(client));
      }
      expect(new Set(homes.values()).size).to.equal(2);
      await Promise.all(
        [...homes].map(async ([client, home]) => {
          for (let i = 0; i < 50; i++) expect(await whoami(client)).to.equal(home);
          expect(client.io.engine.transport.name).to.equal("polling");
        }),
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it("upgrades long-polling to websocket", async () => {
    const clients = [0, 1, 2].map(() => ioClient(port, ["polling", "websocket"]));
    try {
      await Promise.all(
        clients.map(async (client) => {
          await connected(client);
          const home = await whoami(client);
          if (client.io.engine.transport.name !== "websocket") {
            await new Promise((resolve) => client.io.engine.once("upgrade", resolve));
          }
          expect(client.io.engine.transport.name).to.equal("websocket");
          for (let i = 0; i < 5; i++) expect(await whoami(client)).to.equal(home);
        }),
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it("serves websocket-only Socket.IO clients on both workers", async () => {
    const clients = [0, 1, 2, 3].map(() => ioClient(port, ["websocket"]));
    try {
      const homes = await Promise.all(
        clients.map(async (client) => {
          await connected(client);
          return whoami(client);
        }),
      );
      expect(new Set(homes).size).to.equal(2);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it("serves raw ws on /ws/echo from both workers", async () => {
    const opened = await Promise.all([0, 1, 2, 3].map(() => rawWs(port)));
    try {
      expect(new Set(opened.map((o) => o.worker)).size).to.equal(2);
      await Promise.all(
        opened.map(async ({ ws }, i) => {
          const echoed = new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
          ws.send(`ping-${i}`);
          expect(await echoed).to.equal(`ping-${i}`);
        }),
      );
    } finally {
      for (const { ws } of opened) ws.terminate();
    }
  });

  it("routes sid requests of a handshake that went whole to its worker, without re-routing", async () => {
    const sids: string[] = [];
    try {
      const owners = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const handshake = await request(port, "GET", "/socket.io/?EIO=4&transport=polling");
        const sid = (JSON.parse(handshake.body.slice(1)) as { sid: string }).sid;
        sids.push(sid);
        owners.add(String(handshake.headers["x-city-worker"]));
        // The marker header forbids the worker's re-route fallback: only sticky's own mapping,
        // learnt from the worker's IPC message, can get this to the right worker.
        const reply = await request(port, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          body: "40",
          headers: { "x-city-rerouted": "1" },
        });
        expect(reply.status).to.equal(200);
        expect(reply.body).to.equal("ok");
        expect(reply.headers["x-city-worker"]).to.equal(handshake.headers["x-city-worker"]);
      }
      expect(owners.size).to.equal(2);
    } finally {
      for (const sid of sids) await request(port, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { body: "1" }).catch(() => {});
    }
  });

  it("re-routes a polling request that arrives on another worker's kept-alive connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let sid: string | undefined;
    try {
      // The kept-alive connection belongs to worker `mine`.
      const first = await request(port, "GET", "/hello", { agent });
      const mine = String(first.headers["x-city-worker"]);
      // A polling session created on the other worker (handshakes go whole, round-robin).
      const handshake = await until("a handshake on the other worker", async () => {
        const reply = await request(port, "GET", "/socket.io/?EIO=4&transport=polling");
        return reply.headers["x-city-worker"] !== mine ? reply : undefined;
      });
      sid = (JSON.parse(handshake.body.slice(1)) as { sid: string }).sid;
      const owner = String(handshake.headers["x-city-worker"]);
      // Send the namespace connect packet on the connection worker `mine` owns...
      const posted = await request(port, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { agent, body: "40" });
      expect(posted.reused).to.equal(true);
      expect(posted.status).to.equal(200);
      expect(posted.body).to.equal("ok");
      // ...and poll for the answer there too: the owner answers, through the front door.
      const polled = await request(port, "GET", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { agent });
      expect(polled.reused).to.equal(true);
      expect(polled.status).to.equal(200);
      expect(polled.body).to.match(/^40\{"sid":/);
      expect(polled.headers["x-city-worker"]).to.equal(owner);
    } finally {
      agent.destroy();
      // Close the engine.io session (packet "1").
      if (sid) await request(port, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { body: "1" }).catch(() => {});
    }
  });

  it("replaces a worker killed with SIGKILL, in the same slot, and keeps serving", async () => {
    const before = await workerPids(port);
    const victim = before.get("1")!;
    process.kill(victim, "SIGKILL");
    const replacement = await until("a replacement for worker 1", async () => {
      const { worker, pid } = await hello(port);
      return worker === "1" && pid !== victim ? pid : undefined;
    });
    expect(alive(victim)).to.equal(false);
    expect(replacement).to.not.equal(before.get("1"));
    const after = await workerPids(port);
    expect(after.get("2")).to.equal(before.get("2"));
    // Socket.IO works on the replacement as well.
    const clients: IoSocket[] = [];
    try {
      const homes = new Set<string>();
      while (homes.size < 2 && clients.length < 6) {
        const client = ioClient(port, ["polling"]);
        clients.push(client);
        await connected(client);
        homes.add(await whoami(client));
      }
      expect(homes.size).to.equal(2);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  // Last: it closes the primary this suite shares (after() closing it again is a no-op).
  it("close() stops every worker within the shutdown timeout, even with open connections", async () => {
    const agent = new http.Agent({ keepAlive: true });
    const client = ioClient(port, ["polling"]);
    let raw: WebSocket | undefined;
    try {
      const pids = [...(await workerPids(port)).values()];
      await hello(port, agent);
      await connected(client);
      raw = (await rawWs(port)).ws;
      const started = Date.now();
      await primary.close();
      expect(Date.now() - started).to.be.below(5_000);
      expect(pids.filter(alive)).to.deep.equal([]);
      // Nobody answers on the port any more.
      const refused = await request(port, "GET", "/hello").then(() => false, () => true);
      expect(refused).to.equal(true);
    } finally {
      client.disconnect();
      raw?.terminate();
      agent.destroy();
    }
  });
});

describe("cluster front door: no worker ready", function () {
  this.timeout(30_000);
  let primary: Primary | undefined;
  after(async () => {
    await primary?.close();
  });

  it("answers 503 with the contract's JSON error, then serves again once a worker is back", async () => {
    primary = await startPrimary({
      port: 0,
      host: "127.0.0.1",
      workers: 1,
      workerScript: FIXTURE,
      env: { CITY_FIXTURE_REDIS_KEY: `${REDIS_KEY}-503`, CITY_FIXTURE_REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379" },
      shutdownTimeoutMs: 5_000,
      log: quiet,
    });
    const port = primary.port;
    const { pid } = await hello(port);
    process.kill(pid, "SIGKILL");
    // Until the primary has seen the exit a request may still go to the dying worker (and fail);
    // from then until the replacement is ready, the front door answers itself.
    const refused = await until("the front door's own 503", async () => {
      const reply = await request(port, "GET", "/hello");
      return reply.status === 503 ? reply : undefined;
    });
    expect(refused.headers["content-type"]).to.equal("application/json");
    expect(refused.headers["retry-after"]).to.equal("1");
    const body = JSON.parse(refused.body) as { error: { code: string; message: string }; message: string };
    expect(body.error.code).to.equal("unavailable");
    expect(body.error.message).to.be.a("string").and.not.equal("");
    expect(body.message, "the message also at the top level (CONTRACT §11)").to.equal(body.error.message);
    const back = await until("the replacement", async () => {
      const reply = await hello(port);
      return reply.pid !== undefined && reply.pid !== pid ? reply : undefined;
    });
    expect(back.worker).to.equal("1");
  });
});
