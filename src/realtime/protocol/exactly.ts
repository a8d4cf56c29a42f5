// A compile-time pin between a zod schema and a TypeScript type owned elsewhere (a payload type
// of another capability): if either side changes so that they differ, the build fails.
import type { z } from "zod";

type Assignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Mutually assignable and with the same keys: an optional field added on one side only (which
 *  assignability alone lets through) is a difference too. */
type Same<A, B> = Assignable<A, B> extends true ? Assignable<keyof A, keyof B> : false;

/** Returns the schema unchanged; fails to compile unless its output type is T (both ways). */
export function exactly<T>() {
  return <S extends z.ZodType>(schema: S & (Same<z.output<S>, T> extends true ? unknown : { "the schema does not match the type": T })): S => schema;
}
