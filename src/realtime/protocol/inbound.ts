// Every client → server event (CONTRACT §7, §10) as a zod schema. Both transports parse with
// these (rooms-handler.ts, presence-handler.ts), the Socket.IO event maps are inferred from them
// (event-maps.ts), and so is the AsyncAPI document.
import { z } from "zod";
import { messageFields, normaliseMessage } from "../../rooms/inputs.js";

const roomId = z.string().min(1).max(200);
const userId = z.string().min(1).max(128);

/** The message fields are the REST ones (body | text | data.body, client_message_id). */
const roomMessageSend = messageFields.extend({ room_id: roomId }).transform((v, ctx) => ({ room_id: v.room_id, ...normaliseMessage(v, ctx) }));

export const ROOM_INBOUND = {
  "room.join": z.object({ room_id: roomId, last_message_id: z.string().min(1).max(64).optional() }),
  "room.leave": z.object({ room_id: roomId }),
  "room.message.send": roomMessageSend,
};

export const PRESENCE_INBOUND = {
  "presence.heartbeat": z.object({ user_id: userId.optional() }),
};

/** Diagnostics every connection answers (both namespaces, every raw-ws path); not in the contract. */
export const DIAGNOSTIC_INBOUND = {
  ping: z.object({}).describe('Socket.IO: emit `ping` (answered in the ack, or with a `pong` event without one). Raw ws: {event:"ping"} is answered {event:"pong"}, {type:"ping"} is answered {type:"pong"}'),
  "server.info": z.object({}).describe("Asks which API worker serves this connection"),
};

export type RoomEventName = keyof typeof ROOM_INBOUND;
/** What a room event's handler gets: its payload as its schema parsed it. */
export type RoomEventInput<K extends RoomEventName> = z.output<(typeof ROOM_INBOUND)[K]>;
export type PresenceEventName = keyof typeof PRESENCE_INBOUND;
export type DiagnosticEventName = keyof typeof DIAGNOSTIC_INBOUND;

const has = <T extends object>(map: T, name: string): name is Extract<keyof T, string> => Object.hasOwn(map, name);
/** Own keys only: an event named "constructor" or "valueOf" must not find Object.prototype's. */
export const isRoomEvent = (name: string): name is RoomEventName => has(ROOM_INBOUND, name);
export const isPresenceEvent = (name: string): name is PresenceEventName => has(PRESENCE_INBOUND, name);
export const isDiagnosticEvent = (name: string): name is DiagnosticEventName => has(DIAGNOSTIC_INBOUND, name);

export const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * Where a room event's `room_id` may come from, before the schema sees it (CONTRACT §7, §10):
 * the top level; else inside `data` (the Next.js client nests its fields there: `{event,
 * data: {body}}`); else, on a raw-ws connection opened on `/ws/city/rooms/{room_id}`, that path's
 * room. Socket.IO has no path room (`pathRoom` undefined), so there a `room_id` stays required.
 * A null `room_id` counts as none.
 */
export function normaliseRoomEvent(payload: unknown, pathRoom?: string): unknown {
  if (!isRecord(payload) || payload.room_id != null) return payload;
  const nested = isRecord(payload.data) ? payload.data.room_id : undefined;
  const room = nested ?? pathRoom;
  return room == null ? payload : { ...payload, room_id: room };
}

/** Largest inbound frame we parse; a larger one gets an `error` event (the socket survives). */
export const MAX_FRAME_BYTES = 64 * 1024;
