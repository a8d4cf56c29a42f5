// Socket.IO namespace /city/rooms: adapts sockets to the transport-free rooms handler. A socket
// is a live member of a room when it is in the Socket.IO room of that id (socketio-rooms.ts).
import type { Namespace, Socket } from "socket.io";
import type { RoomHub } from "../room-hub.js";
import type { RoomsHandler, RoomsConnection } from "../rooms-handler.js";
import { FloodGuard } from "../flood-guard.js";
import { announceAuthError, type SocketData } from "./io-server.js";
import { userRoom } from "./presence-namespace.js";

export const ROOMS_NAMESPACE = "/city/rooms";

export function bindRoomsNamespace(nsp: Namespace, hub: RoomHub, handle: RoomsHandler, workerId: string): void {
  nsp.on("connection", (socket: Socket) => {
    announceAuthError(socket);
    const identity = (socket.data as SocketData).identity;
    if (identity?.kind === "user") void socket.join(userRoom(identity.userId));
    const conn: RoomsConnection = {
      protocol: "socket.io",
      identity,
      guard: new FloodGuard(),
      get closed() {
        return socket.disconnected;
      },
      send: (ev) => socket.emit(ev.event, ev),
      // The adapter's rooms are in memory: join and leave take effect before they return.
      addLive: (roomId) => void socket.join(roomId),
      removeLive: (roomId) => void socket.leave(roomId),
      disconnect: () => socket.disconnect(true),
    };
    socket.onAny((name: string, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === "function" ? (args.pop() as (r: unknown) => void) : undefined;
      if (name === "server.info") {
        const info = { event: "server.info", worker: workerId };
        if (ack) ack(info);
        else socket.emit("server.info", info);
        return;
      }
      if (name === "ping") {
        socket.emit("pong", { event: "pong" });
        ack?.({ event: "pong" });
        return;
      }
      void handle(conn, name, args[0], ack);
    });
    let rooms: string[] = [];
    socket.on("disconnecting", () => (rooms = [...socket.rooms]));
    // Socket.IO has left every room by now: replays stop, and idle streams are released.
    socket.on("disconnect", () => hub.forget(conn, rooms));
  });
}
