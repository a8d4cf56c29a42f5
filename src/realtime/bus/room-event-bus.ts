// The room-event bus: the bus on the room-events channel, speaking the rooms capability's
// RoomEventSink port, so the rooms service publishes its commits on it and the realtime hub of
// every worker subscribes.
import type { Message } from "../../rooms/room-model.js";
import type { RoomEventSink } from "../../rooms/rooms-service.js";
import { ROOM_EVENTS, type BusEvent } from "./bus-channel.js";
import { createBus, type Bus, type BusOptions } from "./bus.js";

export interface RoomEventBus extends Bus<BusEvent>, RoomEventSink {}

export function createRoomEventBus(opts: BusOptions): RoomEventBus {
  const bus = createBus(ROOM_EVENTS, opts);
  return {
    ...bus,
    message: (message: Message) => bus.publish({ event: "room.message", room_id: message.room_id, message }),
    joined: (roomId, userId) => bus.publish({ event: "room.join", room_id: roomId, user_id: userId }),
    left: (roomId, userId) => bus.publish({ event: "room.leave", room_id: roomId, user_id: userId }),
  };
}
