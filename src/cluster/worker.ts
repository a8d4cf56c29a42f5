// The worker side of the front door: takes the connections the primary hands over, whole or
// through @socket.io/sticky, and shuts down when the primary says so. The worker never listens.
import cluster from "node:cluster";
import { EventEmitter } from "node:events";
import net from "node:net";
import type { IncomingMessage, RequestListener, Server as HttpServer, ServerResponse } from "node:http";
import { setupWorker } from "@socket.io/sticky";
import type { Server as IoServer } from "socket.io";
import { answerClientErrors } from "../http/raw-error.js";
import { onPrimaryMessage, sendToPrimary } from "./messages.js";
import { checkEngineInternals, trackConnections } from "./node-internals.js";
import { frontDoorFromEnv, isMisrouted, reroute } from "./reroute.js";

let database: Promise<void> | undefined;

/**
 * Resolves once the primary has prepared the database. Ask after building the app and before
 * serving: the primary prepares it while its workers load, so start-up pays for the longer of the
 * two, not both.
 */
export function awaitDatabase(): Promise<void> {
  if (!cluster.isWorker) throw new Error("awaitDatabase must run in a cluster worker");
  return (database ??= new Promise<void>((resolve) => {
    onPrimaryMessage("city:database-ready", () => resolve());
    sendToPrimary({ cmd: "city:await-database" });
  }));
}

/**
 * Call last, once `server` has its request handler and `io` (if any) is attached to it: the
 * request listeners present now are the ones wrapped. Tells the primary the worker is ready.
 * `onDraining` is called when the primary announces a drain (SHUTDOWN_DELAY_MS) ahead of shutdown.
 */
export function serveFromPrimary(server: HttpServer, onShutdown: () => Promise<void>, io?: IoServer, onDraining?: () => void): void {
  if (!cluster.isWorker || !process.send) throw new Error("serveFromPrimary must run in a cluster worker");
  if (io && io.httpServer !== server) throw new Error("io must be attached to the server given");
  const engineProblem = io && checkEngineInternals(io);
  if (engineProblem) throw new Error(engineProblem);

  trackConnections(server);
  answerClientErrors(server);
  installSticky(server, io);
  wrapRequests(server, io);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    // Connections the primary would still hand over could not be served for long.
    sendToPrimary({ cmd: "city:stopping" });
    try {
      await onShutdown();
      process.exit(0);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "worker shutdown failed", err: String(err), pid: process.pid }));
      process.exit(1);
    }
  };
  onPrimaryMessage("city:connection", ({ head }, handle) => acceptWhole(server, handle, head));
  onPrimaryMessage("city:shutdown", () => void shutdown());
  onPrimaryMessage("city:draining", () => onDraining?.());
  // The primary is gone (crashed or killed): do not linger as an orphan holding connections.
  process.on("disconnect", () => void shutdown());
  // Ctrl-C signals the whole process group, and a supervisor may signal a worker directly: shut
  // down gracefully rather than drop connections (the primary, if it is not stopping, replaces us).
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown());

  sendToPrimary({ cmd: "city:ready" });
}

function acceptWhole(server: HttpServer, handle: unknown, head: Uint8Array): void {
  // No handle: the client closed the connection while it was being transferred.
  if (!(handle instanceof net.Socket)) return;
  server.emit("connection", handle);
  handle.unshift(Buffer.isBuffer(head) ? head : Buffer.from(head));
  handle.resume();
}

/**
 * Sticky's setupWorker receives the connections it routes and tells the primary which worker holds
 * each engine.io session (on every session, however its handshake arrived, so handshakes can go
 * whole to any worker). It also forces `Connection: close` on every response of the server, which
 * would end keep-alive for REST too: that listener is removed (see wrapRequests).
 */
function installSticky(server: HttpServer, io?: IoServer): void {
  const before = server.listeners("request");
  // Without Socket.IO there are no sessions, but sticky may still route a stray sid request here.
  setupWorker(io ?? ({ httpServer: server, engine: new EventEmitter() } as unknown as IoServer));
  for (const listener of server.listeners("request")) {
    if (!before.includes(listener)) server.off("request", listener as RequestListener);
  }
}

/** One request listener in front of the others, the way engine.io itself attaches. */
function wrapRequests(server: HttpServer, io?: IoServer): void {
  const handlers = server.listeners("request") as RequestListener[];
  const frontDoor = frontDoorFromEnv();
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // Not a net.Socket: sticky relays this connection through the primary over IPC. Closing it
    // after the response keeps later requests of that client off the slow relay.
    if (!(req.socket instanceof net.Socket)) res.setHeader("Connection", "close");
    if (io && frontDoor && isMisrouted(req, io)) return reroute(req, res, frontDoor);
    for (const handler of handlers) handler.call(server, req, res);
  });
}
