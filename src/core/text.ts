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

/** The first `max` characters, with an ellipsis when cut. */
export function snippet(s: string, max = 140): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join("") + "…";
}

/** Query-string integer in [min, max]; absent means the default; anything else is a 400. */
export function queryInt(dflt: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return dflt;
      if (!/^\d{1,9}$/.test(v)) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });
}
