// The console's browser bundle: console/src/*.ts (with socket.io-client) bundled by esbuild into
// console.js, next to console/index.html and console/styles.css. Built when missing or stale — a
// fingerprint of the sources and the bundler's inputs is kept in dist/console/manifest.json — so a
// fresh clone works after `npm install` with no separate step. Several API workers may start at
// once: each writes under a unique name and renames, so readers never see half a file. When the
// output folder cannot be written (a read-only image), the bundle is served from memory.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { PACKAGE_ROOT } from "../config/package-root.js";

export const ROOT = PACKAGE_ROOT;
export const CONSOLE_SRC = path.join(ROOT, "console");
export const CONSOLE_OUT = path.join(ROOT, "dist", "console");

export interface ConsoleAssets {
  readonly html: Buffer;
  readonly js: Buffer;
  readonly css: Buffer;
  readonly fingerprint: string;
  /** true when this call ran esbuild, false when a fresh bundle was on disk. */
  readonly built: boolean;
}

async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listSources(full)));
    else if (/\.(ts|html|css|json)$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Changes when any console source, or the version of a bundled package or of esbuild, changes. */
export async function fingerprint(srcDir = CONSOLE_SRC): Promise<string> {
  const hash = createHash("sha256");
  for (const file of await listSources(srcDir)) {
    hash.update(path.relative(srcDir, file)).update("\0").update(await readFile(file)).update("\0");
  }
  for (const pkg of ["socket.io-client", "esbuild"]) {
    const version = await readFile(path.join(ROOT, "node_modules", pkg, "package.json"), "utf8")
      .then((s) => (JSON.parse(s) as { version: string }).version)
      .catch(() => "?");
    hash.update(`${pkg}@${version}\0`);
  }
  return hash.digest("hex").slice(0, 16);
}

/** The bundle on disk when its fingerprint is `fp` (any fingerprint when `fp` is undefined). */
async function readFresh(outDir: string, fp: string | undefined): Promise<ConsoleAssets | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(outDir, "manifest.json"), "utf8")) as { fingerprint?: string };
    if (!manifest.fingerprint || (fp !== undefined && manifest.fingerprint !== fp)) return undefined;
    const [html, js, css] = await Promise.all(["index.html", "console.js", "console.css"].map((f) => readFile(path.join(outDir, f))));
    return { html: html!, js: js!, css: css!, fingerprint: manifest.fingerprint, built: false };
  } catch {
    return undefined;
  }
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export interface BundleOptions {
  readonly srcDir?: string;
  readonly outDir?: string;
  /** Build even when the bundle on disk is fresh. */
  readonly force?: boolean;
  readonly log?: (msg: string) => void;
}

export async function ensureConsoleBundle(opts: BundleOptions = {}): Promise<ConsoleAssets> {
  const srcDir = opts.srcDir ?? CONSOLE_SRC;
  const outDir = opts.outDir ?? CONSOLE_OUT;
  if (!existsSync(srcDir)) {
    // An image that ships the built bundle without its sources (`npm run console:build` at build
    // time, then only dist/console copied): serve what was built.
    const built = await readFresh(outDir, undefined);
    if (built) return built;
    throw new Error(`no console sources at ${srcDir} and no built bundle in ${outDir}`);
  }
  const fp = await fingerprint(srcDir);
  if (!opts.force) {
    const fresh = await readFresh(outDir, fp);
    if (fresh) return fresh;
  }
  // esbuild (a development dependency) is needed only when the bundle is missing or stale. A
  // production install has no esbuild and never builds: it serves what `npm run build` made.
  const esbuild = await import("esbuild").catch(() => undefined);
  if (!esbuild) {
    const built = await readFresh(outDir, undefined);
    if (built) return built;
    throw new Error(`esbuild is not installed and there is no built bundle in ${outDir}: run \`npm run build\``);
  }
  const result = await esbuild.build({
    entryPoints: [path.join(srcDir, "src", "main.ts")],
    bundle: true,
    write: false,
    nodePaths: [path.join(ROOT, "node_modules")], // sources outside the tree (tests) still find packages
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const js = Buffer.from(result.outputFiles[0]!.contents);
  const [html, css] = await Promise.all([readFile(path.join(srcDir, "index.html")), readFile(path.join(srcDir, "styles.css"))]);
  try {
    await mkdir(outDir, { recursive: true });
    await writeAtomic(path.join(outDir, "console.js"), js);
    await writeAtomic(path.join(outDir, "console.css"), css);
    await writeAtomic(path.join(outDir, "index.html"), html);
    await writeAtomic(path.join(outDir, "manifest.json"), JSON.stringify({ fingerprint: fp, built_at: new Date().toISOString() }) + "\n");
  } catch (err) {
    opts.log?.(`console bundle kept in memory only: ${(err as Error).message}`);
  }
  opts.log?.(`console bundle built (${Math.round(js.length / 1024)} KiB, ${fp})`);
  return { html, js, css, fingerprint: fp, built: true };
}
