// The OpenAPI 3.1 document of the REST API, built from the catalog (rest-catalog.ts) and the zod
// schemas it names. Built once per process; JSON Schema 2020-12 is OpenAPI 3.1's dialect.
import type { z } from "zod";
import { ERROR_DESCRIPTIONS, REST_OPERATIONS, type RestOperation } from "./rest-catalog.js";
import { docsRegistry, probeLength, registrySchemas, toJsonSchema, type DocsRegistry, type JsonSchema, type Target } from "./json-schema.js";
import { messageInput } from "../rooms/inputs.js";

const COMPONENTS = "#/components/schemas/";
const BODY_TEXT =
  "A JSON object. A body sent as text/plain (fetch with a string body and no Content-Type) or as application/x-www-form-urlencoded (curl -d) is read as JSON when it parses as JSON; any other body is 415.";

export interface DocInfo {
  readonly version: string;
}

/** Removes zod's safe-integer bounds (noise) and points `$defs` references at `refBase`. */
export function tidy(node: unknown, refBase: string): unknown {
  if (Array.isArray(node)) return node.map((n) => tidy(n, refBase));
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$defs" || k === "definitions") continue; // every registered schema is a component already
    if ((k === "minimum" || k === "maximum") && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    const local = typeof v === "string" ? /^#\/(?:\$defs|definitions)\/(.+)$/.exec(v) : null;
    if (k === "$ref" && local) out[k] = refBase + local[1];
    else out[k] = tidy(v, refBase);
  }
  return out;
}

/** A schema as the documents show it: a reference when it is a named component. */
export function schemaRef(schema: z.ZodType, target: Target, refBase: string, registry: DocsRegistry = docsRegistry): JsonSchema {
  const id = registry.get(schema)?.id;
  if (id) return { $ref: refBase + id };
  return tidy(toJsonSchema(schema, target, registry), refBase) as JsonSchema;
}

/** The message body fields live inside messageInput's transform, where JSON Schema cannot look;
 *  their bounds are read off messageInput itself. */
export function messageInputSchema(base: JsonSchema): JsonSchema {
  const bounds = probeLength({ safeParse: (s: unknown) => messageInput.safeParse({ body: s }) } as unknown as z.ZodType) ?? {};
  const textField = (d: string) => ({ type: "string", ...bounds, description: d });
  const props = (base.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...base,
    properties: {
      ...props,
      body: textField("The message text, trimmed; lengths count characters"),
      text: textField("Alias of body (the existing front end)"),
      data: { type: "object", properties: { body: textField("Alias of body (the Next.js client)"), client_message_id: props.client_message_id }, description: "The Next.js client's envelope" },
    },
    anyOf: [{ required: ["body"] }, { required: ["text"] }, { required: ["data"] }],
  };
}

export function components(target: Target, refBase: string, registry: DocsRegistry = docsRegistry): Record<string, JsonSchema> {
  const schemas = tidy(registrySchemas(target, refBase, registry), refBase) as Record<string, JsonSchema>;
  if (schemas.MessageInput) schemas.MessageInput = messageInputSchema(schemas.MessageInput);
  return schemas;
}

function security(op: RestOperation): Record<string, string[]>[] | undefined {
  switch (op.auth) {
    case "none":
      return [];
    case "optional":
      return [{}, { bearer: [] }];
    case "user":
      return [{ bearer: [] }];
    case "admin":
      return [{ bearer: [] }, { adminCookie: [] }];
  }
}

function parameters(op: RestOperation): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const name of op.path.match(/\{(\w+)\}/g) ?? []) {
    const key = name.slice(1, -1);
    out.push({ name: key, in: "path", required: true, description: op.params?.[key], schema: { type: "string" } });
  }
  if (op.query) {
    const q = tidy(toJsonSchema(op.query), COMPONENTS) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      out.push({ name, in: "query", required: q.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest });
    }
  }
  return out;
}

function operation(op: RestOperation): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const content = r.schema
      ? { "application/json": { schema: schemaRef(r.schema, "draft-2020-12", COMPONENTS) } }
      : r.anyOf
        ? { "application/json": { schema: { anyOf: r.anyOf.map((s) => schemaRef(s, "draft-2020-12", COMPONENTS)) } } }
        : r.mediaType
          ? { [r.mediaType]: {} }
          : undefined;
    responses[status] = content ? { description: r.description, content } : { description: r.description };
  }
  for (const status of op.errors ?? []) {
    responses[String(status)] ??= { $ref: `#/components/responses/E${status}` };
  }
  const params = parameters(op);
  return {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body
      ? { requestBody: { required: true, description: BODY_TEXT, content: { "application/json": { schema: schemaRef(op.body, "draft-2020-12", COMPONENTS) } } } }
      : {}),
    responses,
    security: security(op),
  };
}

export function buildOpenApi(info: DocInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of REST_OPERATIONS) (paths[op.path] ??= {})[op.method.toLowerCase()] = operation(op);
  const errorResponses = Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
      `E${status}`,
      { description, content: { "application/json": { schema: { $ref: `${COMPONENTS}Error` } } } },
    ]),
  );
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "DAARION City API",
      version: info.version,
      description: [
        "Rooms, messages, the city feed, presence and Second Me.",
        "Every route is served at its path, under /api (the same dialect) and under /v1 (the existing front end's dialect: /v1/secondme/history answers {id, prompt, response, created_at} pairs).",
        "Errors have the shape {\"error\": {\"code\", \"message\"}}. The realtime protocol is described in /asyncapi.json.",
      ].join("\n\n"),
    },
    servers: [
      { url: "/", description: "The contract's paths" },
      { url: "/api", description: "The same, under /api" },
      { url: "/v1", description: "The existing front end's dialect" },
    ],
    tags: [
      { name: "rooms" },
      { name: "feed" },
      { name: "presence" },
      { name: "secondme" },
      { name: "operations" },
      { name: "documents" },
      { name: "console", description: "The city console in the browser" },
    ],
    paths,
    components: {
      schemas: components("draft-2020-12", COMPONENTS),
      responses: errorResponses,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A user JWT (sub = user id), an agent's service token (agent_id claim), or ADMIN_TOKEN for /admin/queues" },
        adminCookie: { type: "apiKey", in: "cookie", name: "city_admin_token", description: "Set by /admin/queues?token=…" },
      },
    },
  };
}
