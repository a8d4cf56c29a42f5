// Runtime validation of request input with zod; the first issue becomes a 400 naming its field.
import type { z } from "zod";
import { AppError } from "../core/errors.js";

/** What a refused or missing request body is told to be (400, 415). */
export const SEND_JSON = "send a JSON object with Content-Type: application/json";

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  throw new AppError("validation_failed", `${field}: ${issue?.message ?? "invalid"}`, { field });
}

/**
 * Parses a JSON request body. A missing body, or one that is not a JSON object, is named as such
 * (without a `field`: "body" would read as the message's `body` field); field errors are
 * parseInput's.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  // No body, or an empty one (Content-Length: 0; an empty JSON body parses as "").
  if (body === undefined || body === "") throw new AppError("validation_failed", `A JSON body is required: ${SEND_JSON}`);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new AppError("validation_failed", `The request body must be a JSON object, not ${body === null ? "null" : Array.isArray(body) ? "an array" : `a ${typeof body}`}`);
  }
  return parseInput(schema, body);
}

/** Parses a query string: a repeated key counts as its first value. */
export function parseQuery<S extends z.ZodType>(schema: S, q: Record<string, string | string[] | undefined>): z.infer<S> {
  const flat = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  return parseInput(schema, flat);
}
