// What both Socket.IO namespaces share: the typed server, namespace and socket (the protocol's
// event maps as Socket.IO's generics), the flood guard and unknown-event refusal as per-socket
// middleware, the diagnostic events, and one way to emit a protocol event.
import type { Namespace, Server, Socket } from "socket.io";
import type { Ack } from "../connection.js";
import { admitFrame, FloodGuard } from "../flood-guard.js";
import { errorEvent, type ClientToServer, type InterServer, type ServerEvent, type ServerToClient, type SocketData } from "../protocol/index.js";
import { refOf } from "../handlers/event-input.js";

export type CityServer = Server<ClientToServer, ServerToClient, InterServer, SocketData>;
export type CityNamespace = Namespace<ClientToServer, ServerToClient, InterServer, SocketData>;
export type CitySocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>;

interface Emitter {
  emit<Ev extends keyof ServerToClient>(ev: Ev, ...args: Parameters<ServerToClient[Ev]>): boolean;
}

/** Emits one protocol event (a socket, or a broadcast to a room). */
export function emitEvent(target: Emitter, ev: ServerEvent): void {
  // Socket.IO's emit is typed per event name; for a value of the union type TypeScript cannot tie
  // `ev.event` to `ev`'s own member of the union, which the union itself guarantees.
  (target.emit as (name: ServerEvent["event"], payload: ServerEvent) => boolean).call(target, ev.event, ev);
}

/** A listener's arguments as sent: the payload, and the ack when the client asked for one (last). */
export function splitArgs(args: readonly unknown[]): { payload: unknown; ack?: Ack } {
  const last = args[args.length - 1];
  if (typeof last !== "function") return { payload: args[0] };
  return { payload: args.length > 1 ? args[0] : undefined, ack: (response) => void last(response) };
}

/**
 * Every event the socket receives passes the flood guard first (CONTRACT §13: each one counts,
 * unknown ones too), then must be one this namespace knows; a refused one is answered with an
 * `error` event and its ack, and never reaches a listener.
 */
export function guardEvents(socket: CitySocket, known: (name: string) => boolean): void {
  const guard = new FloodGuard();
  const conn = { send: (ev: ServerEvent) => emitEvent(socket, ev), disconnect: () => void socket.disconnect(true) };
  socket.use(([name, ...args], next) => {
    const { payload, ack } = splitArgs(args);
    if (!admitFrame(guard, conn, refOf(payload, String(name)), ack)) return;
    if (known(name)) return next();
    const err = errorEvent("validation_failed", `Unknown event "${String(name).slice(0, 60)}"`, refOf(payload, String(name)));
    conn.send(err);
    ack?.(err);
  });
}

/** `ping` and `server.info`: answered in the ack when asked for one, else with an event. */
export function answerDiagnostics(socket: CitySocket, workerId: string): void {
  const answer = (res: ServerEvent) => (args: unknown[]) => {
    const { ack } = splitArgs(args);
    if (ack) ack(res);
    else emitEvent(socket, res);
  };
  const pong = answer({ event: "pong" });
  const info = answer({ event: "server.info", worker: workerId });
  socket.on("ping", (...args: unknown[]) => pong(args));
  socket.on("server.info", (...args: unknown[]) => info(args));
}

/** The Socket.IO room of one user's sockets, for pushes meant only for them (Second Me). */
export const userRoom = (userId: string) => `user:${userId}`;
