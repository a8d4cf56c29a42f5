// `npm run build`: compiles src/ and workers/ to JavaScript under dist/ (dist/src/…, dist/workers/…)
// with esbuild, one output file per source file (no bundling: modules keep their own
// import.meta.url, so the Lua scripts copied beside them are found as in the sources). Also
// generates the Prisma client when the schema changed, and builds the console bundle.
// Measured here (2 cores, 138 files): esbuild 0.8 s, `tsc` with emit 17 s. Type-checking is
// `npm run typecheck` (npm test runs both); esbuild only strips types.
//   node scripts/build.mjs             build now
//   node scripts/build.mjs --if-stale  build only when a source is newer than the last build
//                                      (what `npm start` and the tests run; checking costs ~0.1 s)
//   node scripts/build.mjs --if-stale --check   never build: exit 1 with one line when stale
//                                      (production `npm start`: the build belongs to the deploy)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { generatePrismaClient } from "./prisma-generate.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".build-stamp");
/** What the build reads: a change to any of them makes the build stale. */
const INPUT_DIRS = ["src", "workers", "console"];
const INPUT_FILES = ["prisma/schema.prisma", "package.json", "scripts/build.mjs"];
/** Files other than TypeScript that the code reads beside itself at run time. */
const ASSET = /\.lua$/;

function filesUnder(dir) {
  const abs = path.join(ROOT, dir);
  try {
    return readdirSync(abs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)));
  } catch {
    return [];
  }
}

const mtime = (file) => {
  try {
    return statSync(path.join(ROOT, file)).mtimeMs;
  } catch {
    return 0;
  }
};

export function isStale() {
  const built = mtime(path.relative(ROOT, STAMP));
  if (built === 0) return true;
  return [...INPUT_DIRS.flatMap(filesUnder), ...INPUT_FILES].some((f) => mtime(f) > built);
}

export async function build({ log = (m) => console.log(m) } = {}) {
  const started = performance.now();
  if (generatePrismaClient()) log("generated the Prisma client");
  const sources = ["src", "workers"].flatMap(filesUnder);
  const entryPoints = sources.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).map((f) => path.join(ROOT, f));
  // Whatever a deleted source left behind goes too.
  rmSync(STAMP, { force: true });
  for (const dir of ["src", "workers"]) rmSync(path.join(DIST, dir), { recursive: true, force: true });
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints,
    outdir: DIST,
    outbase: ROOT,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
  for (const f of sources.filter((s) => ASSET.test(s))) {
    mkdirSync(path.dirname(path.join(DIST, f)), { recursive: true });
    copyFileSync(path.join(ROOT, f), path.join(DIST, f));
  }
  // dist/ as a package of its own for code that reads "its" package.json two folders up (the API
  // documents' version): the same name, version and module type as the real one.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  writeFileSync(path.join(DIST, "package.json"), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: pkg.type }, null, 2)}\n`);
  const { ensureConsoleBundle } = await import(pathToFileURL(path.join(DIST, "src/console/bundle.js")).href);
  await ensureConsoleBundle({ log });
  await esbuild.stop();
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  log(`built dist/ (${entryPoints.length} modules) in ${Math.round(performance.now() - started)} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const ifStale = process.argv.includes("--if-stale");
  try {
    if (ifStale && process.argv.includes("--check")) {
      if (isStale()) {
        console.error("start: dist/ is missing or older than the sources: run `npm run build` first (production never builds at start)");
        process.exit(1);
      }
    } else if (!ifStale || isStale()) await build();
  } catch (err) {
    console.error(`build failed: ${err.message}`);
    process.exit(1);
  }
}
