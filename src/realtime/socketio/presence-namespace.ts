// Socket.IO namespace /city/presence: adapts sockets to the transport-free presence protocol.
import type { Namespace, Socket } from "socket.io";
import type { PresenceProtocol, Connection } from "../connection-types.js";
import { FloodGuard } from "../flood-guard.js";
import { announceAuthError, type SocketData } from "./io-server.js";

export const PRESENCE_NAMESPACE = "/city/presence";

export function bindPresenceNamespace(nsp: Namespace, protocol: PresenceProtocol, workerId: string): void {
  nsp.on("connection", (socket: Socket) => {
    announceAuthError(socket);
    const conn: Connection = {
      id: socket.id,
      identity: (socket.data as SocketData).identity,
      guard: new FloodGuard(),
      send: (ev) => socket.emit(ev.event, ev),
      disconnect: () => socket.disconnect(true),
    };
    // Each user's own room, for pushes meant only for them (Second Me replies and status).
    if (conn.identity?.kind === "user") void socket.join(userRoom(conn.identity.userId));
    protocol.onOpen(conn);
    socket.onAny((name: string, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === "function" ? (args.pop() as (r: unknown) => void) : undefined;
      if (name === "server.info") return ack ? ack({ event: "server.info", worker: workerId }) : socket.emit("server.info", { event: "server.info", worker: workerId });
      if (name === "ping") return ack ? ack({ event: "pong" }) : socket.emit("pong", { event: "pong" });
      void protocol.onEvent(conn, name, args[0], ack);
    });
    socket.on("disconnect", () => protocol.onClose(conn));
  });
}

export const userRoom = (userId: string) => `user:${userId}`;
