// Zod schemas of what the server sends (REST responses and outbound events), for the API
// documents only: responses are not validated at run time, so each schema here is pinned to the
// TypeScript type the code really returns with `exactly<T>()`, and a change on either side that
// makes them differ fails to compile.
import { z } from "zod";
import { ERRORS } from "../core/errors.js";
import type { Message, Room } from "../rooms/room-model.js";
import type { FeedEvent } from "../feed/feed-service.js";
import type { HistoryPair, WireMessage } from "../secondme/shapes.js";
import type { SecondMeProfile } from "../secondme/secondme-service.js";
import type { SecondMeReplyPayload, SecondMeStatusPayload } from "../secondme/user-notifier.js";
import type { CommonOutbound, PresenceOutbound, RoomOutbound } from "../realtime/protocol/outbound.js";
import type { ErrorBody } from "../core/errors.js";
import type { DevToken } from "../console/dev-token.js";

type Assignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Mutually assignable and with the same keys: an optional field added on one side only (which
 *  assignability alone lets through) is a difference too. */
type Same<A, B> = Assignable<A, B> extends true ? Assignable<keyof A, keyof B> : false;

/** Returns the schema unchanged; fails to compile unless its output type is T (both ways). */
export function exactly<T>() {
  return <S extends z.ZodType>(schema: S & (Same<z.output<S>, T> extends true ? unknown : { "the schema does not match the type": T })): S => schema;
}

const iso = z.string().describe("ISO 8601 UTC timestamp");
const status = z.enum(["online", "offline"]);

export const messageSchema = exactly<Message>()(
  z.object({
    id: z.string().describe("m_city_<ULID>"),
    room_id: z.string(),
    seq: z.number().int().describe("Per-room sequence number: 1, 2, 3, … in commit order"),
    author_user_id: z.string().nullable(),
    author_agent_id: z.string().nullable(),
    username: z.string().describe("The author's display name at write time (JWT `name` claim), else the author id"),
    body: z.string(),
    text: z.string().describe("The same as `body` (the existing front end reads `text`)"),
    client_message_id: z.string().nullable(),
    created_at: iso,
  }),
);

export const roomSchema = exactly<Room>()(
  z.object({
    id: z.string().describe("room_city_<slug>"),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    is_default: z.boolean(),
    created_at: iso,
    created_by: z.string().nullable(),
    members_online: z.number().int(),
    last_event: iso.nullable().describe("Time of the room's last message, or null"),
  }),
);

export const roomDetailSchema = exactly<Room & { room: Room; messages: Message[]; members_online: number }>()(
  roomSchema.extend({
    room: roomSchema,
    messages: z.array(messageSchema).describe("The last 50 messages, oldest first"),
  }),
);

export const feedEventSchema = exactly<FeedEvent>()(
  z.object({
    id: z.string().describe("evt_city_<ULID>"),
    kind: z.string().describe("room_message, agent_reply, …"),
    room_id: z.string().nullable(),
    user_id: z.string().nullable(),
    agent_id: z.string().nullable(),
    payload: z.unknown().describe("For a room message: {message_id, body, snippet}"),
    created_at: iso,
  }),
);

export const presenceStatusesSchema = exactly<Record<string, "online" | "offline">>()(z.record(z.string(), status));

export const wireMessageSchema = exactly<WireMessage>()(z.object({ role: z.enum(["user", "assistant"]), content: z.string(), created_at: iso }));
export const historyPairSchema = exactly<HistoryPair>()(
  z.object({ id: z.string(), prompt: z.string(), response: z.string().nullable().describe("null while unanswered"), created_at: iso }),
);
export const invokeResultSchema = exactly<{ reply: string; response: string; history: WireMessage[] }>()(
  z.object({ reply: z.string(), response: z.string().describe("The same as `reply` (the existing front end reads it)"), history: z.array(wireMessageSchema) }),
);
export const profileSchema = exactly<SecondMeProfile>()(
  z.object({ user_id: z.string(), agent_id: z.string(), total_interactions: z.number().int(), last_interaction: iso.nullable() }),
);

export const errorSchema = exactly<ErrorBody>()(
  z.object({
    error: z.object({
      code: z.string().describe(`One of: ${Object.keys(ERRORS).join(", ")}`),
      message: z.string(),
      field: z.string().optional().describe("The offending field, for validation errors"),
      retry_after: z.number().optional().describe("Seconds, for rate limits"),
    }),
  }),
);

export const healthSchema = z.object({ status: z.literal("ok") });
export const readinessSchema = z.object({
  status: z.enum(["ready", "unavailable", "draining"]),
  checks: z.record(z.string(), z.enum(["ok", "down"])),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const devTokenSchema = exactly<DevToken>()(
  z.object({ token: z.string().describe("An HS256 JWT: send it as Authorization: Bearer"), user_id: z.string(), name: z.string().nullable(), expires_at: iso }),
);

// ---- outbound events ----

export const roomOutboundSchemas = {
  "room.message": exactly<RoomOutbound["room.message"]>()(z.object({ event: z.literal("room.message"), room_id: z.string(), message: messageSchema })),
  "room.join": exactly<RoomOutbound["room.join"]>()(z.object({ event: z.literal("room.join"), room_id: z.string(), user_id: z.string() })),
  "room.leave": exactly<RoomOutbound["room.leave"]>()(z.object({ event: z.literal("room.leave"), room_id: z.string(), user_id: z.string() })),
  "room.presence": exactly<RoomOutbound["room.presence"]>()(
    z.object({ event: z.literal("room.presence"), room_id: z.string(), user_id: z.string(), status }),
  ),
  "room.message.ack": exactly<RoomOutbound["room.message.ack"]>()(
    z.object({ event: z.literal("room.message.ack"), client_message_id: z.string().nullable(), message: messageSchema }),
  ),
  "room.replay.truncated": exactly<RoomOutbound["room.replay.truncated"]>()(
    z.object({
      event: z.literal("room.replay.truncated"),
      room_id: z.string(),
      last_message_id: z.string().describe("The last message the replay sent: join again with it (or page history after it); the connection is not live in the room until then"),
    }),
  ),
} satisfies { [K in keyof RoomOutbound]: z.ZodType };

const presenceUser = z.object({ user_id: z.string(), status, last_seen: iso.nullable() });
export const presenceOutboundSchemas = {
  "presence.update": exactly<PresenceOutbound["presence.update"]>()(presenceUser.extend({ event: z.literal("presence.update") })),
  "presence.bulk_update": exactly<PresenceOutbound["presence.bulk_update"]>()(
    z.object({ event: z.literal("presence.bulk_update"), users: z.array(presenceUser).describe("Online users, up to 500") }),
  ),
} satisfies { [K in keyof PresenceOutbound]: z.ZodType };

export const secondMeOutboundSchemas = {
  "secondme.status": exactly<SecondMeStatusPayload & { event: "secondme.status" }>()(
    z.object({
      event: z.literal("secondme.status"),
      request_id: z.string().describe("The prompt's message id: ties statuses and the reply to one request"),
      state: z.enum(["queued", "thinking", "done", "failed"]),
      error: z.object({ code: z.string(), message: z.string() }).optional().describe("With `failed`"),
    }),
  ),
  "secondme.reply": exactly<SecondMeReplyPayload & { event: "secondme.reply" }>()(
    z.object({
      event: z.literal("secondme.reply"),
      request_id: z.string(),
      message_id: z.string(),
      reply: z.string(),
      response: z.string(),
      created_at: iso,
    }),
  ),
};

export const commonOutboundSchemas = {
  error: exactly<CommonOutbound["error"]>()(
    z.object({
      event: z.literal("error"),
      code: z.string(),
      message: z.string(),
      ref: z.string().optional().describe("The client_message_id (or event name) the error answers"),
      retry_after: z.number().optional().describe("Seconds to wait, with rate_limited"),
    }),
  ),
  pong: exactly<CommonOutbound["pong"]>()(z.object({ event: z.literal("pong") })),
} satisfies { [K in keyof CommonOutbound]: z.ZodType };

/** The diagnostic answer to `server.info` (not part of the contract): which worker serves you. */
export const serverInfoSchema = z.object({ event: z.literal("server.info"), worker: z.string() });
