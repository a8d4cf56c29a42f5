// Socket.IO namespace /city/rooms: adapts sockets to the transport-free rooms handler and gives
// the room hub its Socket.IO side (local emit, cross-worker serverSideEmit).
import type { Namespace, Socket } from "socket.io";
import type { RoomHub } from "../room-hub.js";
import type { RoomsHandler, RoomsConnection } from "../rooms-handler.js";
import { FloodGuard } from "../flood-guard.js";
import type { RoomBroadcast } from "../protocol/outbound.js";
import { announceAuthError, type SocketData } from "./io-server.js";
import { userRoom } from "./presence-namespace.js";

export const ROOMS_NAMESPACE = "/city/rooms";
const PEER_EVENT = "city:room-event";

export function bindRoomsNamespace(nsp: Namespace, hub: RoomHub, handle: RoomsHandler, workerId: string): void {
  hub.attach({
    emitLocal: (roomId, event) => nsp.local.to(roomId).emit(event.event, event),
    localSocketCount: (roomId) => nsp.adapter.rooms.get(roomId)?.size ?? 0,
    toPeers: (event) => nsp.serverSideEmit(PEER_EVENT, event),
  });
  nsp.on(PEER_EVENT, (event: RoomBroadcast) => hub.receive(event));

  nsp.on("connection", (socket: Socket) => {
    announceAuthError(socket);
    const identity = (socket.data as SocketData).identity;
    if (identity?.kind === "user") void socket.join(userRoom(identity.userId));
    const conn: RoomsConnection = {
      identity,
      guard: new FloodGuard(),
      send: (ev) => socket.emit(ev.event, ev),
      joinLive: (roomId) => {
        void socket.join(roomId);
        hub.watch(roomId);
      },
      leaveLive: (roomId) => {
        void socket.leave(roomId);
        hub.releaseIfIdle(roomId);
      },
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
    socket.on("disconnecting", () => {
      const rooms = [...socket.rooms];
      // Rooms are left right after this event; check idleness once they are.
      setImmediate(() => rooms.forEach((r) => hub.releaseIfIdle(r)));
    });
  });
}
