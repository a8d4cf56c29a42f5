// The front door's uses of Node's private internals, all here, each with the reason it is needed
// and what it touches; `checkNodeInternals()` runs at start-up (the primary, before it listens)
// and stops the server with one line naming the internal that changed, instead of connections that
// hang or lose bytes on a Node version where they moved. `engines` in package.json names the
// versions this was tested on (Node 20.11 – 20.x). Socket.IO's engine (its `clients` table) is
// here too: it is typed protected, and the worker re-routes by it.
import type { Worker } from "node:cluster";
import { EventEmitter } from "node:events";
import http, { type Server as HttpServer } from "node:http";
import net, { type Socket } from "node:net";
import type { Server as IoServer } from "socket.io";

/** The versions the private uses below were tested on (package.json `engines` says the same). */
export const TESTED_NODE = "20.11 – 20.x";

interface StreamHandle {
  reading?: boolean;
  readStop?: () => number;
}

const handleOf = (socket: Socket) => (socket as unknown as { _handle?: StreamHandle | null })._handle;

/**
 * socket.pause() only stops emitting: the handle keeps reading into the JS buffer, and whatever it
 * read would be lost when the handle moves to a worker (the body of a POST usually arrives right
 * behind its head). Stopping the handle itself is what net.Socket#pause does in its `onread` mode;
 * net.Socket#_read restarts it on resume(), which the sticky path relies on.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  const handle = handleOf(socket);
  if (handle?.reading && handle.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

/** A socket whose handle was sent to a worker has none left in the primary. */
export function hasHandle(socket: Socket): boolean {
  return Boolean(handleOf(socket));
}

interface ChildProcessInternals {
  /** The handle sent and not yet acknowledged (a native TCP handle). */
  _pendingMessage?: { handle?: { close?: () => void } | null } | null;
  /** Sends waiting for that acknowledgement (their handles are still net.Sockets). */
  _handleQueue?: Array<{ handle?: { destroy?: () => void } | null }> | null;
}

/**
 * When a worker dies while a connection handle is on its way to it, Node never closes that handle:
 * the primary keeps its copy until the worker's NODE_HANDLE_ACK, and when the IPC channel ends
 * with an ACK outstanding, ChildProcess#disconnect() skips the clean-up that closes it (it waits
 * for a queue that will never drain). The client's connection then hangs forever, unanswered.
 * This closes them, through the same private fields Node's own closePendingHandle() uses. Call
 * once the worker has exited: nothing sent to it can be acknowledged any more.
 */
export function closeStrandedHandles(worker: Worker): number {
  const child = worker.process as unknown as ChildProcessInternals;
  let closed = 0;
  const pending = child._pendingMessage;
  if (pending?.handle?.close) {
    pending.handle.close();
    child._pendingMessage = null;
    closed++;
  }
  // The queue itself stays: Node asserts it is an array if a late ACK still arrives.
  for (const queued of child._handleQueue ?? []) {
    if (queued.handle?.destroy) {
      queued.handle.destroy();
      closed++;
    }
  }
  return closed;
}

/** Node's own 'listening' listener that starts tracking a server's connections. */
const CONNECTIONS_TRACKING = "setupConnectionsTracking";

/**
 * Node starts tracking a server's connections on 'listening', which never happens in a worker (the
 * primary hands it connections); without it closeIdleConnections()/closeAllConnections() do
 * nothing and headersTimeout/requestTimeout are not enforced. Runs Node's own set-up, which it
 * registered as a 'listening' listener.
 */
export function trackConnections(server: HttpServer): void {
  for (const listener of server.listeners("listening")) {
    if (listener.name === CONNECTIONS_TRACKING) (listener as (this: HttpServer) => void).call(server);
  }
}

/** engine.io keeps its sessions in `clients`, typed protected; read-only use here. */
export function engineClients(io: IoServer): Record<string, unknown> {
  return (io.engine as unknown as { clients: Record<string, unknown> }).clients;
}

/**
 * Checks that every internal above is where this code expects it, on this Node. Returns undefined
 * when all are, else one line naming what changed. Costs a loopback connection (a few ms).
 */
export async function checkNodeInternals(): Promise<string | undefined> {
  const problems: string[] = [];
  const server = http.createServer();
  if (!server.listeners("listening").some((l) => l.name === CONNECTIONS_TRACKING)) {
    problems.push(`http.Server has no '${CONNECTIONS_TRACKING}' listening listener`);
  }
  const probe = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const socket = net.connect((probe.address() as net.AddressInfo).port, "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("connect", resolve).once("error", () => resolve()));
  const handle = handleOf(socket);
  if (!handle || typeof handle.readStop !== "function" || typeof handle.reading !== "boolean") {
    problems.push("net.Socket#_handle has no readStop()/reading");
  }
  socket.destroy();
  await new Promise((resolve) => probe.close(resolve));
  if (problems.length === 0) return undefined;
  return `Node ${process.version} changed internals the front door relies on (${problems.join("; ")}); it was tested on Node ${TESTED_NODE}`;
}

/** Checked on the first forked worker: the fields closeStrandedHandles() reads exist. */
export function checkChildProcessInternals(worker: Worker): string | undefined {
  const child = worker.process as object;
  if ("_handleQueue" in child && "_pendingMessage" in child) return undefined;
  return `Node ${process.version} changed internals the front door relies on (ChildProcess has no _handleQueue/_pendingMessage); it was tested on Node ${TESTED_NODE}`;
}

/** Checked when a worker attaches Socket.IO: engine.io still keeps its sessions in `clients`. */
export function checkEngineInternals(io: IoServer): string | undefined {
  const clients = (io.engine as unknown as { clients?: unknown }).clients;
  return typeof clients === "object" && clients !== null && !(clients instanceof EventEmitter)
    ? undefined
    : "engine.io changed internals the front door relies on (Server#clients is not a table of sessions)";
}
