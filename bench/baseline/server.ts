// The bare transport stack the real server is measured against: Node cluster with 2 workers,
// @socket.io/sticky in the primary, Socket.IO with the Redis adapter and a `ws` server on the same
// port in each worker. No auth, no validation beyond JSON, no database, no order: it receives the
// same posts as the real server (REST, Socket.IO, raw ws) and broadcasts them the same way (once
// to every other worker with serverSideEmit; each worker emits to its Socket.IO sockets and
// writes one encoded frame to its raw-ws clients).
// Run: PORT=… REDIS_URL=… node --import tsx bench/baseline/server.ts (the bench runs it compiled:
// bench/lib/processes.ts)
import cluster from "node:cluster";
import http from "node:http";
import { setupMaster, setupWorker } from "@socket.io/sticky";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server, type Socket } from "socket.io";
import { WebSocketServer, type WebSocket } from "ws";

const PORT = Number(process.env.PORT ?? 8090);
const WORKERS = Number(process.env.WEB_CONCURRENCY ?? 2);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const PEER_EVENT = "bench:room-event";

interface RoomMessage {
  event: "room.message";
  room_id: string;
  message: { id: string; room_id: string; body: string; text: string; created_at: string };
}

if (cluster.isPrimary) {
  const server = http.createServer();
  cluster.setupPrimary({ serialization: "advanced" });
  setupMaster(server, { loadBalancingMethod: "least-connection" });
  for (let i = 0; i < WORKERS; i++) cluster.fork({ BASELINE_WORKER: String(i + 1) });
  let ready = 0;
  cluster.on("message", (_w, m) => {
    if (m === "baseline:ready" && ++ready === WORKERS) server.listen(PORT, "127.0.0.1");
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    server.close();
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else {
  const worker = process.env.BASELINE_WORKER ?? "?";
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  let n = 0;
  const server = http.createServer((req, res) => {
    const m = /^\/city\/rooms\/([^/]+)\/messages$/.exec(req.url ?? "");
    if (req.method === "POST" && m) {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const ev = publish(decodeURIComponent(m[1]!), (JSON.parse(Buffer.concat(chunks).toString()) as { body: string }).body);
          const out = JSON.stringify(ev.message);
          res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
        } catch {
          res.writeHead(400).end();
        }
      });
      return;
    }
    if (req.url === "/healthz") return void res.writeHead(200).end("ok");
    res.writeHead(404).end();
  });
  // A distinct key: the real server may share this Redis, and must not hear these broadcasts.
  const io = new Server(server, { serveClient: false, destroyUpgrade: false, adapter: createAdapter(pub, sub, { key: "bench-baseline" }) });
  const nsp = io.of("/city/rooms");
  const wsRooms = new Map<string, Set<WebSocket>>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  function publish(roomId: string, body: string): RoomMessage {
    const ev: RoomMessage = {
      event: "room.message",
      room_id: roomId,
      message: { id: `m_${worker}_${++n}`, room_id: roomId, body, text: body, created_at: new Date().toISOString() },
    };
    nsp.serverSideEmit(PEER_EVENT, ev);
    deliver(ev);
    return ev;
  }

  function deliver(ev: RoomMessage): void {
    nsp.local.to(ev.room_id).emit(ev.event, ev);
    const members = wsRooms.get(ev.room_id);
    if (!members?.size) return;
    const frame = Buffer.from(JSON.stringify(ev));
    for (const ws of members) ws.send(frame, { binary: false });
  }

  nsp.on(PEER_EVENT, (ev: RoomMessage) => deliver(ev));
  nsp.on("connection", (socket: Socket) => {
    socket.on("room.join", (p: { room_id: string }, ack?: (r: unknown) => void) => {
      void socket.join(p.room_id);
      ack?.({ event: "room.join", room_id: p.room_id });
    });
    socket.on("room.message.send", (p: { room_id: string; body: string }, ack?: (r: unknown) => void) => {
      const ev = publish(p.room_id, p.body);
      ack?.({ event: "room.message.ack", message: ev.message });
    });
    socket.on("server.info", (_p: unknown, ack?: (r: unknown) => void) => ack?.({ event: "server.info", worker }));
  });

  server.on("upgrade", (req: http.IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/socket.io/")) return;
    const m = /^\/ws\/city\/rooms\/([^/]+)$/.exec(url.pathname);
    if (!m) return void socket.destroy();
    const roomId = decodeURIComponent(m[1]!);
    wss.handleUpgrade(req, socket, head, (ws) => {
      let set = wsRooms.get(roomId);
      if (!set) wsRooms.set(roomId, (set = new Set()));
      set.add(ws);
      ws.on("message", (data) => {
        try {
          const f = JSON.parse(String(data)) as { event?: string; room_id?: string; body?: string };
          if (f.event === "room.message.send" && f.body) {
            const ev = publish(f.room_id ?? roomId, f.body);
            ws.send(JSON.stringify({ event: "room.message.ack", message: ev.message }));
          } else if (f.event === "server.info") ws.send(JSON.stringify({ event: "server.info", worker }));
        } catch {
          /* not JSON */
        }
      });
      ws.on("close", () => set.delete(ws));
      ws.on("error", () => {});
    });
  });

  setupWorker(io);
  process.send?.("baseline:ready");
  const stop = () => {
    io.close();
    void Promise.all([pub.quit(), sub.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once("SIGTERM", stop);
  // The primary is gone: do not linger.
  process.once("disconnect", stop);
}
