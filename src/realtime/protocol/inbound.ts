// Runtime schemas of every client → server event (CONTRACT §7, §10). Both transports parse
// frames with these, so Socket.IO and the raw-ws shim cannot drift.
import { z } from "zod";
import { messageInput } from "../../rooms/inputs.js";

const roomId = z.string().min(1).max(200);
const userId = z.string().min(1).max(128);

export const roomJoin = z.object({ room_id: roomId, last_message_id: z.string().min(1).max(64).optional() });
export const roomLeave = z.object({ room_id: roomId });
/** The message fields are the REST ones (body | text | data.body, client_message_id). */
export const roomMessageSend = z.object({ room_id: roomId }).passthrough().transform((v, ctx) => {
  const parsed = messageInput.safeParse(v);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return { room_id: v.room_id, ...parsed.data };
});
export const presenceHeartbeat = z.object({ user_id: userId.optional() });

export const ROOM_EVENTS = {
  "room.join": roomJoin,
  "room.leave": roomLeave,
  "room.message.send": roomMessageSend,
} as const;

/** The room events that name a room with `room_id`. */
const ROOM_ID_EVENTS: ReadonlySet<string> = new Set(["room.join", "room.leave", "room.message.send"]);

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * Where a room event's `room_id` may come from, before the schema sees it (CONTRACT §7, §10):
 * the top level; else inside `data` (the Next.js client nests its fields there: `{event,
 * data: {body}}`); else, on a raw-ws connection opened on `/ws/city/rooms/{room_id}`, that path's
 * room. Socket.IO has no path room (`pathRoom` undefined), so there a `room_id` stays required.
 * A null `room_id` counts as none. Other events and payloads pass through untouched.
 */
export function normaliseRoomEvent(name: string, payload: unknown, pathRoom?: string): unknown {
  if (!ROOM_ID_EVENTS.has(name) || !isRecord(payload) || payload.room_id != null) return payload;
  const nested = isRecord(payload.data) ? payload.data.room_id : undefined;
  const room = nested ?? pathRoom;
  return room == null ? payload : { ...payload, room_id: room };
}

export const PRESENCE_EVENTS = {
  "presence.heartbeat": presenceHeartbeat,
} as const;

export type RoomInbound = { [K in keyof typeof ROOM_EVENTS]: z.infer<(typeof ROOM_EVENTS)[K]> };
export type PresenceInbound = { [K in keyof typeof PRESENCE_EVENTS]: z.infer<(typeof PRESENCE_EVENTS)[K]> };

/** Largest inbound frame we parse; a larger one gets an `error` event (the socket survives). */
export const MAX_FRAME_BYTES = 64 * 1024;
