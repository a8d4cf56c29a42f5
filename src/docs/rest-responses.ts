// Zod schemas of REST responses whose types are owned by code that does not build them from zod
// (the feed, Second Me, errors, the console's dev token), for the OpenAPI document only: each is
// pinned to the TypeScript type the code really returns with `exactly<T>()`, so a change on either
// side that makes them differ fails to compile. Rooms and messages need no pin: their types are
// inferred from their schemas (src/rooms/room-model.ts). Socket events are the protocol's own
// schemas (src/realtime/protocol/).
import { z } from "zod";
import { ERRORS, type ErrorBody } from "../core/errors.js";
import type { FeedEvent } from "../feed/feed-service.js";
import type { HistoryPair, WireMessage } from "../secondme/shapes.js";
import type { SecondMeProfile } from "../secondme/secondme-service.js";
import type { DevToken } from "../console/dev-token.js";
import { exactly } from "../realtime/protocol/exactly.js";

const iso = z.string().describe("ISO 8601 UTC timestamp");
const status = z.enum(["online", "offline"]);

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
