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

/** Normalises the three spellings of a message into `{body, client_message_id?}`. */
export const messageInput = z
  .object({
    body: z.unknown().optional(),
    text: z.unknown().optional(),
    data: z.unknown().optional(),
    client_message_id: clientMessageId.optional(),
  })
  .transform((v, ctx) => {
    const data = v.data && typeof v.data === "object" ? (v.data as Record<string, unknown>) : undefined;
    const raw = v.body ?? v.text ?? data?.body ?? data?.text;
    const field = v.body !== undefined ? "body" : v.text !== undefined ? "text" : data ? "data.body" : "body";
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
    if (cmid === undefined && data?.client_message_id !== undefined) {
      // The same rules inside `data` as at the top level: it becomes an idempotency key either way.
      const inner = clientMessageId.safeParse(data.client_message_id);
      if (!inner.success) {
        ctx.addIssue({ code: "custom", message: inner.error.issues[0]?.message ?? "is invalid", path: ["data", "client_message_id"] });
        return z.NEVER;
      }
      cmid = inner.data;
    }
    return { body: parsed.data, clientMessageId: cmid ?? null };
  });

export type MessageInput = z.infer<typeof messageInput>;

export const createRoomInput = z.object({
  name: text(1, 100),
  slug: z.string().regex(SLUG_RE, "must match ^[a-z0-9][a-z0-9-]{1,62}$").optional(),
  description: z.union([text(0, 500), z.null()]).optional(),
});

export type CreateRoomInput = z.infer<typeof createRoomInput>;
