// Socket.IO namespace /city/presence: adapts sockets to the transport-free presence handler.
import type { Connection, Ack } from "../connection.js";
import type { PresenceHandler } from "../handlers/presence-handler.js";
import { isDiagnosticEvent, isPresenceEvent } from "../protocol/index.js";
import { announceAuthError } from "./io-server.js";
import { answerDiagnostics, emitEvent, guardEvents, splitArgs, userRoom, type CityNamespace } from "./city-socket.js";

export const PRESENCE_NAMESPACE = "/city/presence";

export type PresenceEvents = Pick<PresenceHandler, "onOpen" | "onClose"> & {
  handle(conn: Connection, name: "presence.heartbeat", payload: unknown, ack?: Ack): Promise<void>;
};

export function bindPresenceNamespace(nsp: CityNamespace, presence: PresenceEvents, workerId: string): void {
  nsp.on("connection", (socket) => {
    announceAuthError(socket);
    const conn: Connection = {
      id: socket.id,
      identity: socket.data.identity,
      send: (ev) => emitEvent(socket, ev),
      disconnect: () => void socket.disconnect(true),
    };
    // Each user's own room, for pushes meant only for them (Second Me replies and status).
    if (conn.identity?.kind === "user") void socket.join(userRoom(conn.identity.userId));
    presence.onOpen(conn);
    guardEvents(socket, (name) => isPresenceEvent(name) || isDiagnosticEvent(name));
    socket.on("presence.heartbeat", (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      void presence.handle(conn, "presence.heartbeat", payload, ack);
    });
    answerDiagnostics(socket, workerId);
    socket.on("disconnect", () => presence.onClose(conn));
  });
}
