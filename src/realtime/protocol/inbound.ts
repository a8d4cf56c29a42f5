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

export const PRESENCE_EVENTS = {
  "presence.heartbeat": presenceHeartbeat,
} as const;

export type RoomInbound = { [K in keyof typeof ROOM_EVENTS]: z.infer<(typeof ROOM_EVENTS)[K]> };
export type PresenceInbound = { [K in keyof typeof PRESENCE_EVENTS]: z.infer<(typeof PRESENCE_EVENTS)[K]> };

/** Largest inbound frame we parse; a larger one gets an `error` event (the socket survives). */
export const MAX_FRAME_BYTES = 64 * 1024;
