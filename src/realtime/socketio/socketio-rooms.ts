// The Socket.IO delivery adapter: a room's Socket.IO members on this worker are the namespace's
// sockets in the Socket.IO room of that id; a broadcast is encoded once for all of them.
import { ROOM_ID_RE } from "../../rooms/room-model.js";
import type { DeliveryAdapter } from "../hub/room-hub.js";
import { emitEvent, type CityNamespace } from "./city-socket.js";

export function socketIoRooms(nsp: CityNamespace): DeliveryAdapter {
  return {
    protocol: "socket.io",
    count: (roomId) => nsp.adapter.rooms.get(roomId)?.size ?? 0,
    broadcast: (roomId, event) => emitEvent(nsp.local.to(roomId), event),
    subscriptions() {
      // Sockets are also in their own id's room and their user's room: only city rooms count.
      let n = 0;
      for (const [room, members] of nsp.adapter.rooms) if (ROOM_ID_RE.test(room)) n += members.size;
      return n;
    },
  };
}
