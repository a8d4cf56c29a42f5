// Text rules shared by every input schema: trimmed, well-formed Unicode (no lone surrogates),
// no NUL (PostgreSQL text cannot hold it), and lengths counted in characters, not UTF-16 units.
import { z } from "zod";

export const charLength = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export function text(min: number, max: number) {
  return z
    .string()
    .trim()
    .refine((s) => s.isWellFormed(), "must be well-formed Unicode")
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => charLength(s) >= min, min === 1 ? "must not be empty" : `must be at least ${min} characters`)
    .refine((s) => charLength(s) <= max, `must be at most ${max} characters`);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** At most `max` characters, with an ellipsis when cut. The cut falls between graphemes, so a
 *  flag (two code points) or a family emoji (joined by ZWJ) is kept whole or left out. */
export function snippet(s: string, max = 140): string {
  if (charLength(s) <= max) return s;
  let out = "";
  let n = 0;
  for (const { segment } of graphemes.segment(s)) {
    const len = charLength(segment);
    if (n + len > max - 1) break;
    out += segment;
    n += len;
  }
  return out + "…";
}

/** What each queryInt accepts, for the API documents (a transform's rules are invisible to JSON
 *  Schema, so the schema says them here rather than have the documents guess). */
export interface QueryIntBounds {
  readonly default: number;
  readonly minimum: number;
  readonly maximum: number;
  /** A larger number is read as the maximum rather than refused. */
  readonly capped: boolean;
}
export const queryIntBounds = new WeakMap<z.ZodType, QueryIntBounds>();

/**
 * Query-string integer in [min, max]; absent means the default; anything else is a 400. With
 * `cap` (page sizes: "limit … max 200"), a larger number is read as the maximum: a client asking
 * for more than a page may hold gets the largest page, not an error.
 */
export function queryInt(dflt: number, min: number, max: number, opts: { cap?: boolean } = {}) {
  const capped = opts.cap ?? false;
  const schema = z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return dflt;
      if (!/^\d{1,15}$/.test(v)) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      const n = Number(v);
      if (capped && n > max) return max;
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });
  queryIntBounds.set(schema, { default: dflt, minimum: min, maximum: max, capped });
  return schema;
}

/** A page size: 1 to max, default dflt; a larger number is read as max. */
export const queryLimit = (dflt: number, max: number) => queryInt(dflt, 1, max, { cap: true });
