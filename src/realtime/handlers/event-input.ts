// What every protocol handler does with an inbound event before and after its own work: parse the
// payload with the event's schema, refuse a `user_id` that is not the token's, and turn whatever
// went wrong into one `error` event (and the ack, when one was asked for).
import type { z } from "zod";
import { AppError, toAppError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { actorId, type Identity } from "../../auth/identity.js";
import { errorEvent, isRecord } from "../protocol/index.js";
import type { Ack, Connection } from "../connection.js";

/** The payload parsed by `schema`, or a validation_failed error naming the first bad field. */
export function parseEvent<T>(schema: z.ZodType<T>, payload: unknown): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "payload";
  throw new AppError("validation_failed", `${field}: ${issue?.message ?? "invalid"}`, { field });
}

/** A client never speaks for another user: a `user_id` in an event must be the token's. */
export function assertOwnUser(payload: unknown, who: Identity | undefined): void {
  const claimed = isRecord(payload) ? payload.user_id : undefined;
  if (claimed !== undefined && (!who || claimed !== actorId(who))) {
    throw new AppError(who ? "forbidden" : "unauthorized", "user_id does not match the token's user");
  }
}

/** What an error answers: the event's client_message_id (also inside `data`, CONTRACT §10), else its name. */
export function refOf(payload: unknown, name: string): string {
  const data = isRecord(payload) && isRecord(payload.data) ? payload.data : undefined;
  const v = isRecord(payload) ? (payload.client_message_id ?? payload.ref ?? data?.client_message_id) : undefined;
  return typeof v === "string" ? v.slice(0, 128) : name;
}

/** Tells the client why its event failed; logs what is the server's fault. */
export function replyError(conn: Pick<Connection, "send">, ack: Ack | undefined, raw: unknown, ref: string, logger: Logger): void {
  const err = toAppError(raw);
  if (err.status >= 500 && err.code !== "unavailable") logger.error({ err: raw, ref }, "socket event failed");
  const retryAfter = err.details?.retryAfter;
  const ev = errorEvent(err.code, err.message, ref, typeof retryAfter === "number" ? retryAfter : undefined);
  conn.send(ev);
  ack?.(ev);
}
