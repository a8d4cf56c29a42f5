// Runtime validation of request input with zod; the first issue becomes a 400 naming its field.
import type { z } from "zod";
import { AppError } from "../core/errors.js";

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : "body";
  throw new AppError("validation_failed", `${field}: ${issue?.message ?? "invalid"}`, { field });
}

/** Parses a query string: a repeated key counts as its first value. */
export function parseQuery<S extends z.ZodType>(schema: S, q: Record<string, string | string[] | undefined>): z.infer<S> {
  const flat = Object.fromEntries(Object.entries(q).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  return parseInput(schema, flat);
}
