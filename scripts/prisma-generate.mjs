// Runs `prisma generate` offline, and only when the schema is newer than the generated client.
// The generator itself is WebAssembly; the CLI only insists that a schema-engine binary exists,
// so we point it at node when none is configured. Used by scripts/build.mjs (the build generates;
// nothing generates at start-up) and as a CLI: `node scripts/prisma-generate.mjs [--force]`.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

const mtime = (p) => {
  try {
    return statSync(path.join(ROOT, p)).mtimeMs;
  } catch {
    return 0;
  }
};

/** True when it ran the generator. Throws when the generator fails. */
export function generatePrismaClient({ force = false } = {}) {
  if (!force && mtime("src/generated/prisma/client.ts") > mtime("prisma/schema.prisma")) return false;
  const require = createRequire(import.meta.url);
  const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
  env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
  const cli = require.resolve("prisma/build/index.js");
  const run = spawnSync(process.execPath, [cli, "generate"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
  if (run.status !== 0) throw new Error(`prisma generate failed (${run.status ?? run.signal})`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  try {
    generatePrismaClient({ force: process.argv.includes("--force") });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
