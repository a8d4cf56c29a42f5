// The bus between the city's processes: how an event published by any process (an API worker, the
// job process, another service on the same Redis) reaches every Socket.IO and raw-ws client on
// every worker and machine. One channel per kind of event (bus-channel.ts); today the room events.
// A process without Socket.IO builds a bus without a subscriber connection and publishes on it:
//
//   const bus = createRoomEventBus({ publisher: createRedis(url, "commands"), logger });
//   const rooms = createRoomsService({ repo, events: bus });   // rooms.postMessage(...) reaches every client
export { createBus, type Bus, type BusOptions, type BusSubscriber } from "./bus.js";
export { createRoomEventBus, type RoomEventBus } from "./room-event-bus.js";
export { ROOM_EVENTS, ROOM_EVENTS_CHANNEL, busChannel, busEnvelope, busEvent, type BusChannel, type BusEnvelope, type BusEvent } from "./bus-channel.js";
