// Runs `prisma generate` offline. The generator itself is WebAssembly; the CLI only insists that
// a schema-engine binary exists, so we point it at node when none is configured.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = require.resolve("prisma/build/index.js");
const run = spawnSync(process.execPath, [cli, "generate"], { env, stdio: ["ignore", "pipe", "inherit"] });
if (run.status !== 0) process.exit(run.status ?? 1);
