// Zod → JSON Schema for the API documents. `z.toJSONSchema` cannot see inside refinements and
// transforms, and our input rules live there (text lengths counted in characters, query integers
// parsed from strings). Text lengths are read off the very schema objects by probing them (what a
// schema accepts is what the documents say); a query integer states its bounds where it is made
// (queryInt in core/text.ts).
import { z } from "zod";
import { queryIntBounds } from "../core/text.js";

export type JsonSchema = Record<string, unknown>;

/** Ids and descriptions for the documents, kept apart from the schemas so the route modules
 *  stay as they are (a zod registry annotates without cloning). */
export type DocsRegistry = z.core.$ZodRegistry<{ id?: string; description?: string }>;
export const createDocsRegistry = (): DocsRegistry => z.registry<{ id?: string; description?: string }>();
/** The REST document's registry; the AsyncAPI document has its own (asyncapi.ts). */
export const docsRegistry = createDocsRegistry();

export type Target = "draft-2020-12" | "draft-7";

/** Longer than any JSON body the server accepts (64 kb), so "no bound found" means none below it. */
const LIMIT = 1 << 17;

/** Largest n in [lo, hi] with ok(n), given ok(lo) and ok monotone decreasing. */
function largest(lo: number, hi: number, ok: (n: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Smallest n in [lo, hi] with ok(n), given ok(hi) and ok monotone increasing. */
function smallest(lo: number, hi: number, ok: (n: number) => boolean): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Length bounds (in characters) of a string schema whose rules are refinements. */
export function probeLength(schema: z.ZodType): { minLength: number; maxLength?: number } | undefined {
  const okLen = (n: number) => schema.safeParse("x".repeat(n)).success;
  const lo = smallest(0, 64, okLen);
  if (!okLen(lo)) return undefined;
  if (okLen(LIMIT)) return { minLength: lo };
  return { minLength: lo, maxLength: largest(lo, LIMIT, okLen) };
}

/** A query-string integer (`queryInt`): its default, minimum and maximum, as it declares them. */
export function queryIntDoc(schema: z.ZodType): { default: number; minimum: number; maximum: number; description?: string } | undefined {
  const b = queryIntBounds.get(schema);
  if (!b) return undefined;
  const doc = { default: b.default, minimum: b.minimum, maximum: b.maximum };
  return b.capped ? { ...doc, description: `A larger value is read as ${b.maximum}.` } : doc;
}

function hasCustomChecks(schema: z.ZodType): boolean {
  const checks = (schema._zod.def as { checks?: { _zod: { def: { check: string } } }[] }).checks ?? [];
  return checks.some((c) => c._zod.def.check === "custom");
}

function override(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: JsonSchema }): void {
  const schema = ctx.zodSchema as unknown as z.ZodType;
  const type = schema._zod.def.type;
  if (type === "string" && hasCustomChecks(schema)) {
    const bounds = probeLength(schema);
    if (bounds) Object.assign(ctx.jsonSchema, bounds);
  } else if (type === "pipe") {
    const int = queryIntDoc(schema);
    if (int) {
      for (const k of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[k];
      Object.assign(ctx.jsonSchema, { type: "integer", ...int });
    }
  }
}

export function toJsonSchema(schema: z.ZodType, target: Target = "draft-2020-12", registry: DocsRegistry = docsRegistry): JsonSchema {
  const out = z.toJSONSchema(schema, { io: "input", target, unrepresentable: "any", metadata: registry, override }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** Every schema of `docsRegistry` that has an id, referencing each other through `refBase`. */
export function registrySchemas(target: Target, refBase: string, registry: DocsRegistry = docsRegistry): Record<string, JsonSchema> {
  const out = z.toJSONSchema(registry, { io: "input", target, unrepresentable: "any", override, uri: (id) => `${refBase}${id}` });
  const schemas = (out as { schemas: Record<string, JsonSchema> }).schemas;
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.id;
    delete s.$id;
  }
  return schemas;
}

/** Gives a schema an id in the documents (a component name); returns the schema. */
export function named<S extends z.ZodType>(id: string, schema: S, description?: string, registry: DocsRegistry = docsRegistry): S {
  if (!registry.has(schema)) registry.add(schema, description ? { id, description } : { id });
  return schema;
}

/** Adds a description to a schema the documents use (without an id: it stays inline). */
export function describe<S extends z.ZodType>(schema: S, description: string, registry: DocsRegistry = docsRegistry): S {
  if (!registry.has(schema)) registry.add(schema, { description });
  return schema;
}
