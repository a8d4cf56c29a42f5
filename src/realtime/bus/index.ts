// The room-event bus: how a committed room event reaches every Socket.IO and raw-ws subscriber
// on every worker and machine, from whichever process published it. A process without Socket.IO
// (the job process, a script) builds a bus without a subscriber connection and publishes on it:
//
//   const bus = createRoomEventBus({ publisher: createRedis(url, "commands"), logger });
//   const rooms = createRoomsService({ repo, events: bus });   // rooms.postMessage(...) reaches every client
export { createRoomEventBus, type RoomEventBus, type RoomEventBusOptions, type BusSubscriber } from "./room-event-bus.js";
export { ROOM_EVENTS_CHANNEL, busEnvelope, busEvent, type BusEvent, type BusEnvelope } from "./bus-channel.js";
