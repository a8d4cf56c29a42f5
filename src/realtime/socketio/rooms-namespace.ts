// Socket.IO namespace /city/rooms: adapts sockets to the transport-free rooms handler, one
// listener per event. A socket is a live member of a room when it is in the Socket.IO room of
// that id (socketio-rooms.ts delivers to them).
import type { RoomHub } from "../hub/room-hub.js";
import type { RoomsConnection } from "../handlers/rooms-handler.js";
import { isDiagnosticEvent, isRoomEvent, type RoomEventName } from "../protocol/index.js";
import type { Ack } from "../connection.js";
import { announceAuthError } from "./io-server.js";
import { answerDiagnostics, emitEvent, guardEvents, splitArgs, userRoom, type CityNamespace } from "./city-socket.js";

export const ROOMS_NAMESPACE = "/city/rooms";

export type RoomEventHandler = (conn: RoomsConnection, name: RoomEventName, payload: unknown, ack?: Ack) => Promise<void>;

export function bindRoomsNamespace(nsp: CityNamespace, hub: RoomHub, handle: RoomEventHandler, workerId: string): void {
  nsp.on("connection", (socket) => {
    announceAuthError(socket);
    const identity = socket.data.identity;
    if (identity?.kind === "user") void socket.join(userRoom(identity.userId));
    const conn: RoomsConnection = {
      protocol: "socket.io",
      identity,
      get closed() {
        return socket.disconnected;
      },
      send: (ev) => emitEvent(socket, ev),
      // Rooms are in memory: join and leave take effect before they return.
      addLive: (roomId) => void socket.join(roomId),
      removeLive: (roomId) => void socket.leave(roomId),
      disconnect: () => void socket.disconnect(true),
    };
    guardEvents(socket, (name) => isRoomEvent(name) || isDiagnosticEvent(name));
    const on = (name: RoomEventName) => socket.on(name, (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      void handle(conn, name, payload, ack);
    });
    on("room.join");
    on("room.leave");
    on("room.message.send");
    answerDiagnostics(socket, workerId);
    let rooms: string[] = [];
    socket.on("disconnecting", () => (rooms = [...socket.rooms]));
    // Socket.IO has left every room by now: replays stop, and idle streams are released.
    socket.on("disconnect", () => hub.forget(conn, rooms));
  });
}
