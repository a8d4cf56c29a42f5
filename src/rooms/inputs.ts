// Input schemas for rooms, shared by REST and both socket transports so they cannot drift.
// The message body may arrive as `body`, as `text` (existing front end) or as `data.body`
// (the Next.js client over ws).
import { z } from "zod";
import { text } from "../core/text.js";
import { SLUG_RE } from "./slug.js";

export const MAX_BODY_CHARS = 4000;

export const clientMessageId = z
  .string()
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

const bodyText = text(1, MAX_BODY_CHARS);

/**
 * Any value, typed as what a well-behaved client sends: the message fields are checked by
 * normaliseMessage below (which names the field of a bad value and says what is wrong with it),
 * while clients and the event maps see their real types.
 */
const sent = <T>() => z.custom<T>(() => true).optional();

/** The three spellings of a message: `body`, `text` (existing front end), `data.body` (Next.js). */
export const messageFields = z.object({
  body: sent<string>(),
  text: sent<string>(),
  data: sent<{ body?: string; text?: string; client_message_id?: string; room_id?: string }>(),
  client_message_id: clientMessageId.optional(),
});

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** Normalises the three spellings into `{body, clientMessageId}`, or reports what is wrong. */
export function normaliseMessage(v: z.output<typeof messageFields>, ctx: z.RefinementCtx): { body: string; clientMessageId: string | null } {
  const data: unknown = v.data;
  const nested = isRecord(data) ? data : undefined;
  const raw: unknown = v.body ?? v.text ?? nested?.body ?? nested?.text;
  const field = v.body !== undefined ? "body" : v.text !== undefined ? "text" : nested ? "data.body" : "body";
  if (raw === undefined) {
    ctx.addIssue({ code: "custom", message: "is required", path: ["body"] });
    return z.NEVER;
  }
  const parsed = bodyText.safeParse(raw);
  if (!parsed.success) {
    const msg = typeof raw === "string" ? (parsed.error.issues[0]?.message ?? "is invalid") : "must be a string";
    ctx.addIssue({ code: "custom", message: msg, path: field.split(".") });
    return z.NEVER;
  }
  let cmid = v.client_message_id;
  if (cmid === undefined && nested?.client_message_id !== undefined) {
    // The same rules inside `data` as at the top level: it becomes an idempotency key either way.
    const inner = clientMessageId.safeParse(nested.client_message_id);
    if (!inner.success) {
      ctx.addIssue({ code: "custom", message: inner.error.issues[0]?.message ?? "is invalid", path: ["data", "client_message_id"] });
      return z.NEVER;
    }
    cmid = inner.data;
  }
  return { body: parsed.data, clientMessageId: cmid ?? null };
}

/** A message as REST takes it: `{body, client_message_id?}` in any of the three spellings. */
export const messageInput = messageFields.transform(normaliseMessage);

export type MessageInput = z.infer<typeof messageInput>;

export const createRoomInput = z.object({
  name: text(1, 100),
  slug: z.string().regex(SLUG_RE, "must match ^[a-z0-9][a-z0-9-]{1,62}$").optional(),
  description: z.union([text(0, 500), z.null()]).optional(),
});

export type CreateRoomInput = z.infer<typeof createRoomInput>;
