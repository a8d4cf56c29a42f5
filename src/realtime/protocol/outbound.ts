// Every server → client event (CONTRACT §7, §10, §13) as a zod schema, with its type inferred.
// The transports send these types, the Socket.IO event maps and the AsyncAPI document are built
// from these schemas, and the room-event bus validates what it carries with them.
import { z } from "zod";
import { ERRORS } from "../../core/errors.js";
import { messageSchema } from "../../rooms/room-model.js";
import type { SecondMeReplyPayload, SecondMeStatusPayload } from "../../secondme/user-notifier.js";
import { exactly } from "./exactly.js";

const iso = z.string().describe("ISO 8601 UTC timestamp");
const status = z.enum(["online", "offline"]);
const roomId = z.string();

export const ROOM_OUTBOUND = {
  "room.message": z.object({ event: z.literal("room.message"), room_id: roomId, message: messageSchema }),
  "room.join": z.object({ event: z.literal("room.join"), room_id: roomId, user_id: z.string() }),
  "room.leave": z.object({ event: z.literal("room.leave"), room_id: roomId, user_id: z.string() }),
  "room.presence": z.object({ event: z.literal("room.presence"), room_id: roomId, user_id: z.string(), status }),
  "room.message.ack": z
    .object({ event: z.literal("room.message.ack"), client_message_id: z.string().nullable(), message: messageSchema })
    .describe("To the sender of room.message.send (the Socket.IO ack, or this frame on raw ws)"),
  "room.replay.truncated": z
    .object({
      event: z.literal("room.replay.truncated"),
      room_id: roomId,
      last_message_id: z.string().describe("The last message the replay sent: join again with it (or page history after it)"),
    })
    .describe("A join's replay stopped at its cap; the connection is not live in the room until it joins again"),
};

const presenceUser = z.object({ user_id: z.string(), status, last_seen: iso.nullable() });
export const PRESENCE_OUTBOUND = {
  "presence.update": presenceUser.extend({ event: z.literal("presence.update") }),
  "presence.bulk_update": z.object({ event: z.literal("presence.bulk_update"), users: z.array(presenceUser).describe("Online users, up to 500") }),
};

/** Pushed to every socket of one user, on any namespace or path (src/secondme owns the payloads). */
export const SECONDME_OUTBOUND = {
  "secondme.status": exactly<SecondMeStatusPayload & { event: "secondme.status" }>()(
    z.object({
      event: z.literal("secondme.status"),
      request_id: z.string().describe("The prompt's message id: ties statuses and the reply to one request"),
      state: z.enum(["queued", "thinking", "done", "failed"]),
      error: z.object({ code: z.string(), message: z.string() }).optional().describe("With `failed`"),
    }),
  ),
  "secondme.reply": exactly<SecondMeReplyPayload & { event: "secondme.reply" }>()(
    z.object({ event: z.literal("secondme.reply"), request_id: z.string(), message_id: z.string(), reply: z.string(), response: z.string(), created_at: iso }),
  ),
};

export const COMMON_OUTBOUND = {
  error: z.object({
    event: z.literal("error"),
    code: z.string().describe(`One of: ${Object.keys(ERRORS).join(", ")}`),
    message: z.string(),
    ref: z.string().optional().describe("The client_message_id (or event name) the error answers"),
    retry_after: z.number().optional().describe("Seconds to wait, with rate_limited"),
  }),
  pong: z.object({ event: z.literal("pong") }),
  /** The answer to `server.info` (a diagnostic, not in the contract): which worker serves you. */
  "server.info": z.object({ event: z.literal("server.info"), worker: z.string() }),
};

/** The acknowledgement each inbound event gets (Socket.IO acks; raw ws gets some as frames). */
export const ACKS = {
  "room.join": z.object({ event: z.literal("room.join"), room_id: roomId, user_id: z.string().nullable().describe("null for an anonymous listener") }),
  "room.leave": z.object({ event: z.literal("room.leave"), room_id: roomId }),
  "room.message.send": ROOM_OUTBOUND["room.message.ack"],
  "presence.heartbeat": z.object({ event: z.literal("presence.heartbeat"), user_id: z.string(), status: z.literal("online") }),
  ping: COMMON_OUTBOUND.pong,
  "server.info": COMMON_OUTBOUND["server.info"],
};

export const OUTBOUND = { ...ROOM_OUTBOUND, ...PRESENCE_OUTBOUND, ...SECONDME_OUTBOUND, ...COMMON_OUTBOUND };
export type Outbound = { [K in keyof typeof OUTBOUND]: z.output<(typeof OUTBOUND)[K]> };
export type ServerEvent = Outbound[keyof Outbound];
export type ErrorEvent = Outbound["error"];
export type AckOf<K extends keyof typeof ACKS> = z.output<(typeof ACKS)[K]> | ErrorEvent;

/** The room events broadcast to a room: on the room-event bus, through the hub, to every member. */
export const roomBroadcast = z.discriminatedUnion("event", [ROOM_OUTBOUND["room.message"], ROOM_OUTBOUND["room.join"], ROOM_OUTBOUND["room.leave"], ROOM_OUTBOUND["room.presence"]]);
export type RoomBroadcast = z.output<typeof roomBroadcast>;

export function errorEvent(code: string, message: string, ref?: string, retryAfter?: number): ErrorEvent {
  const ev: ErrorEvent = ref === undefined ? { event: "error", code, message } : { event: "error", code, message, ref };
  if (retryAfter !== undefined) ev.retry_after = retryAfter;
  return ev;
}

/** Told to a connection whose token was refused: it stays connected as an anonymous listener. */
export function listenerOnlyError(why: string): ErrorEvent {
  return errorEvent("unauthorized", `${why}; connected as a listener only`);
}
