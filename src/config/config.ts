// One typed, frozen Config parsed from the environment once at start-up (CONTRACT §2).
// A bad value throws a ConfigError whose message is one line naming the variable.
import os from "node:os";

export type AgentsTransport = "http" | "nats";

export interface Config {
  readonly env: "development" | "production" | "test";
  readonly port: number;
  readonly host: string;
  /** PostgreSQL URL; undefined in development means "start embedded PostgreSQL". */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string;
  readonly jwt: { readonly secret: string | undefined; readonly publicKey: string | undefined; readonly isDevSecret: boolean };
  readonly adminToken: string | undefined;
  readonly corsOrigins: readonly string[] | "localhost";
  readonly webConcurrency: number;
  readonly defaultRooms: readonly string[];
  readonly dataDir: string;
  readonly logLevel: string;
  readonly shutdown: {
    /** How long a graceful stop may take: workers force what is left at this deadline, and the
     *  primary kills a worker still alive after it. */
    readonly timeoutMs: number;
    /** On SIGTERM, how long readiness answers 503 before new connections are refused (for load
     *  balancers that probe /readyz); 0 refuses at once. */
    readonly delayMs: number;
  };
  readonly presence: {
    /** TTL of presence:user:{id}; 40 s by contract, shortened only by tests. */
    readonly ttlSeconds: number;
    readonly sweepIntervalMs: number;
    readonly graceMs: number;
    readonly allowAnonymous: boolean;
  };
  readonly secondme: {
    readonly agentId: string;
    readonly timeoutMs: number;
    readonly concurrency: number;
    /** Tries per invocation (transport errors and 5xx from the agent are retried; 4xx never). */
    readonly attempts: number;
    /** First retry delay; doubles on each further retry. */
    readonly backoffMs: number;
    readonly maxQueuedPerUser: number; // prompts of one user waiting or running; beyond, 429 (CONTRACT §13)
  };
  readonly queue: {
    /** BullMQ's own key prefix, so its keys never mix with ours (tests use one per run). */
    readonly prefix: string;
  };
  readonly agents: {
    readonly transport: AgentsTransport;
    /** Agents Core's base URL: AGENTS_CORE_URL (alias AGENTS_SERVICE_URL), else
     *  http://127.0.0.1:7002 (CONTRACT §2). */
    readonly url: string;
    /** True when neither variable was set and `url` is the default. Only development acts on it:
     *  `npm start` uses what already answers there or starts the stand-in (src/dev/dev-agents-core.ts). */
    readonly urlIsDefault: boolean;
    readonly invokePath: string;
    readonly natsUrl: string;
    /** How long one call to Agents Core may take: AGENTS_CORE_TIMEOUT_MS, else SECONDME_TIMEOUT_MS,
     *  so an agent that answers within the caller's wait is never cut off before it. */
    readonly timeoutMs: number;
    /** NATS queue group of the `agents.reply` subscribers: one per deployment, so each reply is
     *  posted once; deployments sharing one NATS each need their own. */
    readonly replyQueueGroup: string;
  };
  /** Redis-backed rate limits shared by every worker (CONTRACT §6 429). A rate of 0 turns a bucket off. */
  readonly rateLimit: {
    readonly enabled: boolean;
    /** Key prefix, under `city:` (CONTRACT §5); tests use one per run. */
    readonly prefix: string;
    /** Per author: room message posts over REST and both sockets together. */
    readonly messages: RateRuleConfig;
    /** Per user or agent: every REST write. */
    readonly userWrites: RateRuleConfig;
    /** Per client IP: every REST write. */
    readonly ipWrites: RateRuleConfig;
  };
}

export interface RateRuleConfig {
  readonly ratePerSec: number;
  readonly burst: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string) {
    // One line whatever a value holds: start-up prints it as the only line (CONTRACT §2).
    super(message.replace(/[\r\n]+/g, "\\n"));
  }
}

export const DEFAULT_AGENTS_CORE_URL = "http://127.0.0.1:7002";
export const DEFAULT_AGENTS_REPLY_QUEUE_GROUP = "city-agents-reply";
export const DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-do-not-use-in-production";
const DEFAULT_ROOMS = ["general", "welcome", "builders"];
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** A NATS queue group name: one token, no wildcards or whitespace. */
const QUEUE_GROUP = /^[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,127}$/;

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return dflt;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[], dflt?: string): string | undefined {
  const raw = str(env, name) ?? dflt;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(" or ")}, got ${parsed.protocol}`);
  }
  return raw;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = str(env, "NODE_ENV") ?? "development";
  if (!["development", "production", "test"].includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be development, production or test, got "${nodeEnv}"`);
  }
  const production = nodeEnv === "production";

  const databaseUrl = url(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
  if (production && !databaseUrl) throw new ConfigError("DATABASE_URL is required in production");

  const publicKey = str(env, "JWT_PUBLIC_KEY")?.replace(/\\n/g, "\n");
  if (publicKey && !publicKey.includes("BEGIN")) throw new ConfigError("JWT_PUBLIC_KEY must be a PEM public key");
  let secret = str(env, "JWT_SECRET");
  if (production && !secret && !publicKey) throw new ConfigError("JWT_SECRET (or JWT_PUBLIC_KEY) is required in production");
  if (secret && secret.length < 16 && production) throw new ConfigError("JWT_SECRET must be at least 16 characters in production");
  const isDevSecret = !secret && !publicKey;
  if (isDevSecret) secret = DEV_JWT_SECRET;

  const rawCors = str(env, "CORS_ORIGINS");
  let corsOrigins: readonly string[] | "localhost" = production ? [] : "localhost";
  if (rawCors) {
    // Stored as URL.origin, the exact form of a browser's Origin header (no trailing slash), so
    // "https://city.example.org/" still matches; a path, query or non-http scheme is refused.
    corsOrigins = rawCors.split(",").map((o) => o.trim()).filter(Boolean).map((o) => {
      if (o === "*") throw new ConfigError("CORS_ORIGINS must list origins, not *: the front end sends credentials");
      let u: URL;
      try {
        u = new URL(o);
      } catch {
        throw new ConfigError(`CORS_ORIGINS has an invalid origin ${JSON.stringify(o)}`);
      }
      if (!["http:", "https:"].includes(u.protocol) || u.pathname !== "/" || u.search || u.hash || u.username) {
        throw new ConfigError(`CORS_ORIGINS entries must be bare origins like https://host[:port], got ${JSON.stringify(o)}`);
      }
      return u.origin;
    });
  }

  const rooms = (str(env, "CITY_DEFAULT_ROOMS") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const slug of rooms) {
    if (!SLUG.test(slug)) throw new ConfigError(`CITY_DEFAULT_ROOMS has an invalid slug "${slug}"`);
  }

  const transport = (str(env, "AGENTS_TRANSPORT") ?? "http").toLowerCase();
  if (transport !== "http" && transport !== "nats") {
    throw new ConfigError(`AGENTS_TRANSPORT must be http or nats, got "${transport}"`);
  }
  const agentsUrlName = str(env, "AGENTS_CORE_URL") ? "AGENTS_CORE_URL" : "AGENTS_SERVICE_URL";
  const agentsUrl = url(env, agentsUrlName, ["http:", "https:"]);
  const replyQueueGroup = str(env, "AGENTS_REPLY_QUEUE_GROUP") ?? DEFAULT_AGENTS_REPLY_QUEUE_GROUP;
  if (!QUEUE_GROUP.test(replyQueueGroup)) {
    throw new ConfigError(`AGENTS_REPLY_QUEUE_GROUP must be one NATS token (letters, digits, _ - : .), got ${JSON.stringify(replyQueueGroup.slice(0, 140))}`);
  }
  const invokePath = str(env, "AGENTS_CORE_INVOKE_PATH") ?? "/agents/{agent_id}/invoke";
  if (!invokePath.startsWith("/")) throw new ConfigError("AGENTS_CORE_INVOKE_PATH must start with /");

  const cpus = Math.max(2, os.availableParallelism?.() ?? os.cpus().length);
  const secondmeTimeoutMs = int(env, "SECONDME_TIMEOUT_MS", 30_000, 1, 600_000);

  return deepFreeze<Config>({
    env: nodeEnv as Config["env"],
    port: int(env, "PORT", 8080, 0, 65535),
    host: str(env, "HOST") ?? "0.0.0.0",
    databaseUrl,
    redisUrl: url(env, "REDIS_URL", ["redis:", "rediss:"], "redis://127.0.0.1:6379/0")!,
    jwt: { secret, publicKey, isDevSecret },
    adminToken: str(env, "ADMIN_TOKEN"),
    corsOrigins,
    webConcurrency: int(env, "WEB_CONCURRENCY", cpus, 1, 256),
    defaultRooms: rooms.length ? rooms : DEFAULT_ROOMS,
    dataDir: str(env, "DATA_DIR") ?? ".data",
    logLevel: str(env, "LOG_LEVEL") ?? (nodeEnv === "test" ? "warn" : "info"),
    shutdown: {
      timeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 15_000, 1_000, 600_000),
      delayMs: int(env, "SHUTDOWN_DELAY_MS", 0, 0, 600_000),
    },
    presence: {
      ttlSeconds: int(env, "PRESENCE_TTL_SECONDS", 40, 1, 3600),
      sweepIntervalMs: int(env, "PRESENCE_SWEEP_INTERVAL_MS", 10_000, 100, 600_000),
      graceMs: int(env, "PRESENCE_GRACE_MS", 5_000, 0, 600_000),
      allowAnonymous: bool(env, "PRESENCE_ALLOW_ANONYMOUS", false),
    },
    secondme: {
      agentId: str(env, "SECONDME_AGENT_ID") ?? "ag_secondme_global",
      timeoutMs: secondmeTimeoutMs,
      concurrency: int(env, "SECONDME_CONCURRENCY", 16, 1, 1000),
      attempts: int(env, "SECONDME_ATTEMPTS", 3, 1, 20),
      backoffMs: int(env, "SECONDME_BACKOFF_MS", 500, 0, 600_000),
      maxQueuedPerUser: int(env, "SECONDME_MAX_QUEUED_PER_USER", 5, 1, 10_000),
    },
    queue: {
      prefix: str(env, "BULLMQ_PREFIX") ?? "city:bull",
    },
    agents: {
      transport,
      url: agentsUrl ?? DEFAULT_AGENTS_CORE_URL,
      urlIsDefault: agentsUrl === undefined,
      invokePath,
      natsUrl: url(env, "NATS_URL", ["nats:", "tls:", "ws:", "wss:"], "nats://127.0.0.1:4222")!,
      // The caller waits SECONDME_TIMEOUT_MS (CONTRACT §8); the agent gets as long by default. A
      // shorter fixed default failed agents that answer inside the caller's wait with a 504.
      timeoutMs: int(env, "AGENTS_CORE_TIMEOUT_MS", secondmeTimeoutMs, 1, 600_000),
      replyQueueGroup,
    },
    rateLimit: rateLimitConfig(env),
  });
}

/** The same frozen Config with Agents Core at `url` (development: what dev-agents-core.ts chose). */
export function withAgentsUrl(config: Config, agentsUrl: string): Config {
  return deepFreeze<Config>({ ...config, agents: { ...config.agents, url: agentsUrl, urlIsDefault: false } });
}

function rate(env: Env, name: string, dflt: number): number {
  const raw = str(env, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || n > 1_000_000) throw new ConfigError(`${name} must be a number of events per second (0 turns the limit off), got ${JSON.stringify(raw)}`);
  return n;
}

function rateRule(env: Env, name: string, perSec: number, burst: number): RateRuleConfig {
  return { ratePerSec: rate(env, `${name}_PER_SEC`, perSec), burst: int(env, `${name}_BURST`, burst, 1, 10_000_000) };
}

function rateLimitConfig(env: Env): Config["rateLimit"] {
  const prefix = str(env, "RATE_LIMIT_PREFIX") ?? "city:rl";
  if (!prefix.startsWith("city:")) throw new ConfigError(`RATE_LIMIT_PREFIX must start with "city:", got ${JSON.stringify(prefix)}`);
  return {
    enabled: bool(env, "RATE_LIMIT_ENABLED", true),
    prefix,
    messages: rateRule(env, "RATE_LIMIT_MESSAGES", 20, 60),
    userWrites: rateRule(env, "RATE_LIMIT_USER_WRITES", 50, 150),
    ipWrites: rateRule(env, "RATE_LIMIT_IP_WRITES", 200, 1000),
  };
}
