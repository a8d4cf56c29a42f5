// Every environment variable the server reads, one line each: its name, its zod schema (text in,
// typed value out, with its default) and where it lands in the Config (the tree's shape is the
// Config's shape). README.md's configuration table lists the same variables.
//
// To add a variable, add one line where its value belongs, e.g. under `secondme`:
//     maxQueuedPerUser: v("SECONDME_MAX_QUEUED_PER_USER", int(1, 10_000).default(5)),
// and `config.secondme.maxQueuedPerUser` exists, typed, validated with a line naming the variable,
// known to the typo check, and printed by `npm run check-config`. Mark secrets `{ secret: true }`
// (masked in that print) and URLs that may carry a password `{ secret: "url" }`.
import { z } from "zod";

export interface Var<T> {
  readonly name: string;
  readonly schema: z.ZodType<T, string | undefined>;
  /** true: never printed; "url": printed without its password. */
  readonly secret?: true | "url";
}

export function v<T>(name: string, schema: z.ZodType<T, string | undefined>, opts: { secret?: true | "url" } = {}): Var<T> {
  return { name, schema, ...opts };
}

// ---- value kinds (each error message reads after the variable's name) ---------------------------

const text = () => z.string();

export const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`));

/** Events per second, 0 turning a limit off. */
const rate = () =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of events per second (0 turns the limit off)")
    .transform(Number)
    .pipe(z.number().max(1_000_000, "must be at most 1000000 events per second"));

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];
const bool = () =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .refine((s) => TRUE.includes(s) || FALSE.includes(s), "must be true or false")
    .transform((s) => TRUE.includes(s));

const url = (protocols: readonly string[]) =>
  z.string().superRefine((s, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(s);
    } catch {
      return ctx.addIssue({ code: "custom", message: "is not a valid URL" });
    }
    if (!protocols.includes(parsed.protocol)) ctx.addIssue({ code: "custom", message: `must use ${protocols.join(" or ")}, got ${parsed.protocol}` });
  });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(values, { error: (issue) => `must be ${values.join(", ").replace(/, ([^,]*)$/, " or $1")}, got "${String(issue.input)}"` }));

/** A host name or an IP address to listen on (no scheme, port or path). */
const host = () => z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/, "must be a host name or an IP address");

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;
const slugList = () =>
  z.string().transform((s, ctx) => {
    const slugs = s.split(",").map((x) => x.trim()).filter(Boolean);
    const bad = slugs.find((x) => !SLUG.test(x));
    if (bad !== undefined) ctx.addIssue({ code: "custom", message: `has an invalid slug "${bad}"` });
    // An empty value means the three defaults (CONTRACT §2).
    return slugs.length ? slugs : DEFAULT_ROOMS;
  });

/** Browser origins, stored as URL.origin, the exact form of a browser's Origin header. */
const origins = () =>
  z.string().transform((s, ctx) =>
    s
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean)
      .map((o) => {
        if (o === "*") ctx.addIssue({ code: "custom", message: "must list origins, not *: the front end sends credentials" });
        let u: URL;
        try {
          u = new URL(o);
        } catch {
          ctx.addIssue({ code: "custom", message: `has an invalid origin ${JSON.stringify(o)}` });
          return o;
        }
        if (!["http:", "https:"].includes(u.protocol) || u.pathname !== "/" || u.search || u.hash || u.username) {
          ctx.addIssue({ code: "custom", message: `entries must be bare origins like https://host[:port], got ${JSON.stringify(o)}` });
        }
        return u.origin;
      }),
  );

const pem = () =>
  z
    .string()
    .transform((s) => s.replace(/\\n/g, "\n"))
    .refine((s) => s.includes("BEGIN"), "must be a PEM public key");

/** A Redis key prefix: no spaces or braces (braces would pin every key to one cluster slot). */
const keyPrefix = () => z.string().regex(/^[A-Za-z0-9_:.-]+$/, "must be letters, digits and _ : . - only");

/** A NATS queue group name: one token, no wildcards or whitespace. */
const queueGroup = () => z.string().regex(/^[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,127}$/, "must be one NATS token (letters, digits, _ - : .)");

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const DEFAULT_ROOMS: readonly string[] = ["general", "welcome", "builders"];
export const DEFAULT_AGENTS_CORE_URL = "http://127.0.0.1:7002";
export const DEFAULT_AGENTS_REPLY_QUEUE_GROUP = "city-agents-reply";

/** A token-bucket rule of the Redis rate limiter: <NAME>_PER_SEC and <NAME>_BURST. */
const rule = (name: string, perSec: number, burst: number) => ({
  ratePerSec: v(`${name}_PER_SEC`, rate().default(perSec)),
  burst: v(`${name}_BURST`, int(1, 10_000_000).default(burst)),
});

// ---- the variables ----------------------------------------------------------------------------
// Defaults that depend on another value (the log level, the CPU count, the Agents Core timeout)
// are left undefined here and filled in by config.ts.

export const VARIABLES = {
  env: v("NODE_ENV", oneOf(["development", "production", "test"]).default("development")),
  port: v("PORT", int(0, 65535).default(8080)),
  host: v("HOST", host().default("0.0.0.0")),
  /** PostgreSQL; unset in development means "start embedded PostgreSQL"; required in production. */
  databaseUrl: v("DATABASE_URL", url(["postgres:", "postgresql:"]).optional(), { secret: "url" }),
  redisUrl: v("REDIS_URL", url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379/0"), { secret: "url" }),
  jwt: {
    secret: v("JWT_SECRET", text().optional(), { secret: true }),
    publicKey: v("JWT_PUBLIC_KEY", pem().optional()),
  },
  adminToken: v("ADMIN_TOKEN", text().optional(), { secret: true }),
  /** Unset: any localhost origin in development, none in production. */
  corsOrigins: v("CORS_ORIGINS", origins().optional()),
  /** Unset: the number of CPUs, at least 2. */
  webConcurrency: v("WEB_CONCURRENCY", int(1, 256).optional()),
  defaultRooms: v("CITY_DEFAULT_ROOMS", slugList().default(DEFAULT_ROOMS)),
  /** Embedded PostgreSQL and the development Redis keep their data here. */
  dataDir: v("DATA_DIR", text().default(".data")),
  /** Unset: warn in test, info otherwise. */
  logLevel: v("LOG_LEVEL", z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).optional()),
  /** auto: human-readable in a development terminal, JSON lines otherwise (src/core/logger.ts reads it). */
  logFormat: v("LOG_FORMAT", oneOf(["auto", "json", "pretty"]).default("auto")),
  /** off: `npm start` runs no job workers (pm2 and Docker run them as their own process). */
  jobs: v("CITY_JOBS", bool().default(true)),
  shutdown: {
    /** How long a graceful stop may take: workers force what is left, the primary kills the rest. */
    timeoutMs: v("SHUTDOWN_TIMEOUT_MS", int(1_000, 600_000).default(15_000)),
    /** On SIGTERM, how long readiness answers 503 before new connections are refused. */
    delayMs: v("SHUTDOWN_DELAY_MS", int(0, 600_000).default(0)),
  },
  presence: {
    /** TTL of presence:user:{id}; 40 s by contract, shortened only by tests. */
    ttlSeconds: v("PRESENCE_TTL_SECONDS", int(1, 3600).default(40)),
    sweepIntervalMs: v("PRESENCE_SWEEP_INTERVAL_MS", int(100, 600_000).default(10_000)),
    graceMs: v("PRESENCE_GRACE_MS", int(0, 600_000).default(5_000)),
    allowAnonymous: v("PRESENCE_ALLOW_ANONYMOUS", bool().default(false)),
  },
  secondme: {
    agentId: v("SECONDME_AGENT_ID", text().default("ag_secondme_global")),
    timeoutMs: v("SECONDME_TIMEOUT_MS", int(1, 600_000).default(30_000)),
    concurrency: v("SECONDME_CONCURRENCY", int(1, 1000).default(16)),
    /** Tries per invocation (transport errors and 5xx from the agent are retried; 4xx never). */
    attempts: v("SECONDME_ATTEMPTS", int(1, 20).default(3)),
    /** First retry delay; doubles on each further retry. */
    backoffMs: v("SECONDME_BACKOFF_MS", int(0, 600_000).default(500)),
    /** Prompts of one user waiting or running at once; beyond it 429 at once, nothing queued (CONTRACT §13). */
    maxQueuedPerUser: v("SECONDME_MAX_QUEUED_PER_USER", int(1, 10_000).default(5)),
  },
  queue: {
    /** BullMQ's own key prefix, so its keys never mix with ours (tests use one per run). */
    prefix: v("BULLMQ_PREFIX", keyPrefix().default("city:bull")),
  },
  agents: {
    transport: v("AGENTS_TRANSPORT", oneOf(["http", "nats"]).default("http")),
    url: v("AGENTS_CORE_URL", url(["http:", "https:"]).optional()),
    /** The older name of AGENTS_CORE_URL; AGENTS_CORE_URL wins when both are set. */
    serviceUrl: v("AGENTS_SERVICE_URL", url(["http:", "https:"]).optional()),
    invokePath: v("AGENTS_CORE_INVOKE_PATH", z.string().startsWith("/", "must start with /").default("/agents/{agent_id}/invoke")),
    natsUrl: v("NATS_URL", url(["nats:", "tls:", "ws:", "wss:"]).default("nats://127.0.0.1:4222"), { secret: "url" }),
    /** Unset: SECONDME_TIMEOUT_MS, so an agent answering within the caller's wait is never cut off. */
    timeoutMs: v("AGENTS_CORE_TIMEOUT_MS", int(1, 600_000).optional()),
    /** Durable JetStream consumer of `agents.reply` (src/infra/agents-core/agents-reply-consumer.ts): one per deployment; deployments sharing one NATS each need their own. */
    replyQueueGroup: v("AGENTS_REPLY_QUEUE_GROUP", queueGroup().default(DEFAULT_AGENTS_REPLY_QUEUE_GROUP)),
  },
  /** Redis-backed rate limits shared by every worker (CONTRACT §6 429). A rate of 0 turns a bucket off. */
  rateLimit: {
    enabled: v("RATE_LIMIT_ENABLED", bool().default(true)),
    /** Key prefix, under `city:` (CONTRACT §5); tests use one per run. */
    prefix: v("RATE_LIMIT_PREFIX", z.string().startsWith("city:", 'must start with "city:"').default("city:rl")),
    /** Per author: room message posts over REST and both sockets together. */
    messages: rule("RATE_LIMIT_MESSAGES", 20, 60),
    /** Per user or agent: every REST write. */
    userWrites: rule("RATE_LIMIT_USER_WRITES", 50, 150),
    /** Per client IP: every REST write. */
    ipWrites: rule("RATE_LIMIT_IP_WRITES", 200, 1000),
  },
};

/** Variables read outside this table: set by the server for its own processes, or by tooling. */
export const OTHER_VARIABLES = ["CITY_WORKER_ID", "CITY_FRONT_DOOR_HOST", "CITY_FRONT_DOOR_PORT", "CITY_LOG_DIR"];

/** The values of a tree of variables. */
export type ValuesOf<T> = T extends Var<infer V> ? V : { readonly [K in keyof T]: ValuesOf<T[K]> };

export function isVar(x: unknown): x is Var<unknown> {
  return typeof x === "object" && x !== null && "schema" in x && "name" in x;
}

/** Every variable of a tree, in order. */
export function listVariables(tree: object = VARIABLES): Var<unknown>[] {
  return Object.values(tree).flatMap((x) => (isVar(x) ? [x] : listVariables(x as object)));
}
