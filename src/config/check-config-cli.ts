// `npm run check-config` (as Centrifugo's `checkconfig`): validates the environment exactly as
// start-up does and prints the effective configuration, one variable a line, secrets masked and
// URLs without their password; exits 1 with the one line naming a bad variable. Nothing connects.
import { ConfigError, loadConfig, type Config } from "./config.js";
import { VARIABLES, isVar, type Var } from "./variables.js";

function mask(v: Var<unknown>, value: unknown): string {
  if (value === undefined) return "(unset)";
  if (v.secret === true) return `(set, ${String(value).length} characters)`;
  if (v.secret === "url" && typeof value === "string") {
    try {
      const u = new URL(value);
      if (u.password) u.password = "***";
      return u.toString();
    } catch {
      return "(invalid URL)";
    }
  }
  if (typeof value === "string" && value.includes("\n")) return `(${value.split("\n").length} lines)`;
  if (Array.isArray(value)) return value.length ? value.join(",") : "(none)";
  return String(value);
}

/** One row per variable: name, effective value (masked), and whether it was set or defaulted. */
export function describeConfig(config: Config, env: Record<string, string | undefined>, tree: object = VARIABLES, at: object = config): string[][] {
  return Object.entries(tree).flatMap(([key, node]) => {
    const value = (at as Record<string, unknown> | undefined)?.[key];
    if (!isVar(node)) return describeConfig(config, env, node as object, value as object);
    return [[node.name, mask(node, value), env[node.name]?.trim() ? "set" : "default"]];
  });
}

try {
  const config = loadConfig();
  const rows = describeConfig(config, process.env);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  console.log(`configuration is valid (NODE_ENV=${config.env}); effective values:`);
  for (const [name, value, source] of rows) console.log(`  ${name!.padEnd(width)}  ${value}${source === "default" ? "  (default)" : ""}`);
  for (const warning of config.warnings) console.log(`warning: ${warning}`);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`config: ${err.message}`);
  process.exit(1);
}
