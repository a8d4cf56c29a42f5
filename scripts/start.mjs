// Runs one compiled entry point in this process (no TypeScript loader, no second process):
//   node scripts/start.mjs            the server (`npm start`): dist/src/main.js
//   node scripts/start.mjs jobs       the job workers alone: dist/workers/main.js
//   node scripts/start.mjs migrate    `npm run db:migrate`: dist/src/infra/db/migrate-cli.js
//   node scripts/start.mjs check-config   `npm run check-config`
// Outside production it first builds when a source is newer than the last build (scripts/build.mjs,
// in a child process, so the server never loads esbuild): `npm install && npm start` stays one
// command on a fresh clone. In production nothing is built or generated at start: the build is
// `npm run build` (the Dockerfile runs it), and a missing or stale build stops with one line.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(import.meta.dirname, "..");
const ENTRIES = {
  main: "dist/src/main.js",
  jobs: "dist/workers/main.js",
  migrate: "dist/src/infra/db/migrate-cli.js",
  "check-config": "dist/src/config/check-config-cli.js",
};
const name = process.argv[2] ?? "main";
if (!Object.hasOwn(ENTRIES, name)) {
  console.error(`start: unknown entry ${JSON.stringify(name)} (one of ${Object.keys(ENTRIES).join(", ")})`);
  process.exit(2);
}
const file = path.join(ROOT, ENTRIES[name]);

// An image carries dist/ without sources or build tools: nothing to compare, nothing to build.
if (existsSync(path.join(ROOT, "src"))) {
  const check = process.env.NODE_ENV === "production" ? ["--check"] : [];
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/build.mjs"), "--if-stale", ...check], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync(file)) {
  console.error(`start: ${ENTRIES[name]} is missing: run \`npm run build\` first`);
  process.exit(1);
}
await import(pathToFileURL(file).href);
