// One typed, deeply frozen Config parsed from the environment once at start-up (CONTRACT §2), from
// the one table of variables in variables.ts (add a variable there: one line). A bad value throws
// a ConfigError whose message is one line naming the variable; likely typos of known variables
// are collected in `config.warnings` (each process logs them once at start-up).
import os from "node:os";
import { likelyTypos } from "./typos.js";
import { DEFAULT_AGENTS_CORE_URL, VARIABLES, isVar, listVariables, type ValuesOf } from "./variables.js";

export { DEFAULT_AGENTS_CORE_URL, DEFAULT_AGENTS_REPLY_QUEUE_GROUP } from "./variables.js";

export const DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-do-not-use-in-production";

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string) {
    // One line whatever a value holds: start-up prints it as the only line (CONTRACT §2).
    super(message.replace(/[\r\n]+/g, "\\n"));
  }
}

/** Parses every variable of `tree` from `env` (blank counts as unset), in the tree's shape. */
function parseTree<T extends object>(tree: T, env: Env): ValuesOf<T> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    if (!isVar(node)) {
      out[key] = parseTree(node as object, env);
      continue;
    }
    const raw = env[node.name]?.trim() || undefined;
    const parsed = node.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = node.secret === true || raw === undefined ? "" : `, got ${JSON.stringify(raw.length > 120 ? `${raw.slice(0, 120)}…` : raw)}`;
      const message = parsed.error.issues[0]?.message ?? "is invalid";
      throw new ConfigError(`${node.name} ${message}${message.includes(", got ") ? "" : shown}`);
    }
    out[key] = parsed.data;
  }
  return out as ValuesOf<T>;
}

/** The variables' values with the defaults that depend on other values filled in, and the rules
 *  that span variables checked. */
function resolve(values: ValuesOf<typeof VARIABLES>) {
  const production = values.env === "production";
  const { jwt } = values;
  if (production && !values.databaseUrl) throw new ConfigError("DATABASE_URL is required in production");
  if (production && !jwt.secret && !jwt.publicKey) throw new ConfigError("JWT_SECRET (or JWT_PUBLIC_KEY) is required in production");
  if (production && jwt.secret && jwt.secret.length < 16) throw new ConfigError("JWT_SECRET must be at least 16 characters in production");
  const isDevSecret = !jwt.secret && !jwt.publicKey;
  const { url, serviceUrl, timeoutMs, ...agents } = values.agents;
  const agentsUrl = url ?? serviceUrl;
  return {
    ...values,
    jwt: { secret: isDevSecret ? DEV_JWT_SECRET : jwt.secret, publicKey: jwt.publicKey, isDevSecret },
    corsOrigins: values.corsOrigins ?? (production ? [] : ("localhost" as const)),
    webConcurrency: values.webConcurrency ?? Math.max(2, os.availableParallelism?.() ?? os.cpus().length),
    logLevel: values.logLevel ?? (values.env === "test" ? "warn" : "info"),
    agents: {
      ...agents,
      /** Agents Core's base URL: AGENTS_CORE_URL (alias AGENTS_SERVICE_URL), else http://127.0.0.1:7002. */
      url: agentsUrl ?? DEFAULT_AGENTS_CORE_URL,
      /** True when neither variable was set. Only development acts on it (src/dev/dev-agents-core.ts). */
      urlIsDefault: agentsUrl === undefined,
      timeoutMs: timeoutMs ?? values.secondme.timeoutMs,
    },
  };
}

export type Config = ReturnType<typeof resolve> & {
  /** Likely typos of known variables (an unknown CITY_* or SECONDME_TIMEOUT for SECONDME_TIMEOUT_MS). */
  readonly warnings: readonly string[];
};
export type AgentsTransport = Config["agents"]["transport"];

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const x of Object.values(o)) deepFreeze(x);
    Object.freeze(o);
  }
  return o;
}

export function loadConfig(env: Env = process.env): Config {
  const config = resolve(parseTree(VARIABLES, env));
  return deepFreeze({ ...config, warnings: likelyTypos(Object.keys(env), listVariables().map((x) => x.name)) });
}

/** loadConfig for an entry point: a bad value prints its one line and exits 1. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`config: ${err.message}`);
    process.exit(1);
  }
}

/** The same frozen Config with Agents Core at `url` (development: what dev-agents-core.ts chose). */
export function withAgentsUrl(config: Config, agentsUrl: string): Config {
  return deepFreeze<Config>({ ...config, agents: { ...config.agents, url: agentsUrl, urlIsDefault: false } });
}
