// Runs `prisma generate` offline, and only when the schema is newer than the generated client.
// The generator itself is WebAssembly; the CLI only insists that a schema-engine binary exists,
// so we point it at node when none is configured.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { createRequire } from "node:module";

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
};
if (!process.argv.includes("--force") && mtime("src/generated/prisma/client.ts") > mtime("prisma/schema.prisma")) process.exit(0);

const require = createRequire(import.meta.url);
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = require.resolve("prisma/build/index.js");
const run = spawnSync(process.execPath, [cli, "generate"], { env, stdio: ["ignore", "pipe", "inherit"] });
if (run.status !== 0) process.exit(run.status ?? 1);
