// The front door: every TCP connection arrives here in the primary. Socket.IO requests that carry
// a session id go through @socket.io/sticky's routing; every other connection is handed whole to a
// worker, which then owns it (keep-alive, WebSocket upgrades) without the primary in the way.
import cluster, { type Worker } from "node:cluster";
import http from "node:http";
import type { Socket } from "node:net";
import { setupMaster } from "@socket.io/sticky";
import { errorResponse } from "./error-response.js";
import { sendToWorker } from "./messages.js";
import { hasHandle } from "./node-internals.js";
import { sniffRequest } from "./sniff-request.js";

export type Log = (level: "info" | "warn" | "error", msg: string, extra?: object) => void;

export interface FrontDoor {
  /** The primary's 'connection' listener. */
  accept(socket: Socket): void;
  /** Destroys every connection the primary still holds and unhooks sticky from the cluster. */
  close(): void;
}

/** How often to forget sockets sticky handed to a worker (they never emit 'close' here). */
const SWEEP_INTERVAL_MS = 30_000;

/** No worker is ready (all starting, restarting or stopping): the contract's 503, not a reset. */
const UNAVAILABLE = errorResponse("unavailable", "The server is starting or restarting; try again in a moment", { "Retry-After": "1" });

export function createFrontDoor(pickWorker: () => Worker | undefined, log: Log): FrontDoor {
  const sticky = stickyRouter();
  const sniffing = new Set<Socket>();

  const handWhole = (socket: Socket, head: Buffer) => {
    const worker = pickWorker();
    if (!worker) {
      socket.end(UNAVAILABLE, () => socket.destroy());
      return;
    }
    sendToWorker(worker, { cmd: "city:connection", head }, socket, (err) => {
      if (err) {
        log("warn", "front door: handing a connection to a worker failed", { worker: worker.id, err: err.message });
        socket.destroy();
      }
    });
  };

  return {
    accept(socket) {
      sniffing.add(socket);
      sniffRequest(socket, ({ head, sticky: isSticky }) => {
        sniffing.delete(socket);
        if (isSticky) sticky.route(socket, head);
        else handWhole(socket, head);
      });
      socket.once("close", () => sniffing.delete(socket));
    },
    close() {
      for (const socket of sniffing) socket.destroy();
      sniffing.clear();
      sticky.close();
    },
  };
}

interface StickyRouter {
  route(socket: Socket, head: Buffer): void;
  close(): void;
}

/**
 * @socket.io/sticky's setupMaster only listens for 'connection' on the server it is given, so an
 * http.Server that never listens serves as its private entrance: we emit the sniffed connection
 * on it with the bytes put back. Sticky then routes by sid, hands the socket over (GET, upgrade)
 * or relays a request with a body over IPC while the primary keeps the socket.
 */
function stickyRouter(): StickyRouter {
  const entrance = http.createServer();
  // setupMaster adds anonymous listeners to the cluster module; remember them to remove on close.
  const before = { message: cluster.listeners("message"), exit: cluster.listeners("exit") };
  setupMaster(entrance, { loadBalancingMethod: "least-connection" });
  const added = (["message", "exit"] as const).flatMap((event) =>
    cluster.listeners(event).filter((l) => !before[event].includes(l)).map((listener) => ({ event, listener })),
  );

  // Sockets sticky may still hold (relayed requests), so close() can end them.
  const held = new Set<Socket>();
  const sweep = setInterval(() => {
    for (const socket of held) if (!hasHandle(socket)) held.delete(socket);
  }, SWEEP_INTERVAL_MS).unref();

  return {
    route(socket, head) {
      held.add(socket);
      socket.once("close", () => held.delete(socket));
      socket.unshift(head);
      entrance.emit("connection", socket);
      // Sticky's 'data' listener does not resume a paused stream by itself.
      socket.resume();
    },
    close() {
      clearInterval(sweep);
      for (const socket of held) socket.destroy();
      held.clear();
      for (const { event, listener } of added) cluster.off(event, listener as (...args: unknown[]) => void);
    },
  };
}
