// Starts the real server for a test file as production runs it: the compiled `dist/src/main.js` as
// a child process, i.e. the cluster primary with its front door and WEB_CONCURRENCY (2) workers, on
// a free port, against the run's test database and TEST_REDIS_URL (else the machine's Redis).
// Returns its base URL. The build is brought up to date once per test run (scripts/build.mjs).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { TEST_JWT_SECRET } from "./tokens.js";

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** What the server printed (stdout and stderr), for failing assertions. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The compiled entry points, as production (npm start, pm2, the image) runs them. */
const ENTRIES = {
  /** The API cluster primary (with the job process unless CITY_JOBS=off): what `npm start` runs. */
  main: "dist/src/main.js",
  /** The BullMQ job process on its own (pm2's city-jobs). */
  jobs: "dist/workers/main.js",
  migrate: "dist/src/infra/db/migrate-cli.js",
  checkConfig: "dist/src/config/check-config-cli.js",
} as const;

let built = false;

/** Builds dist/ when a source is newer than it (about 1 s; 0.1 s to find it fresh), once per run. */
export function ensureBuilt(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the build failed:\n${r.stdout}${r.stderr}`);
  built = true;
}

/** The absolute path of a compiled entry point, built first if need be. */
export function entry(name: keyof typeof ENTRIES): string {
  ensureBuilt();
  return path.join(ROOT, ENTRIES[name]);
}

export interface Exited {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, in arrival order. */
  readonly out: string;
}

/**
 * Runs a command in the repository with only `env` (plus PATH and HOME: nothing of the test
 * runner's own settings) until it exits, SIGKILLed after `timeoutMs`.
 */
export function runToExit(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let out = "";
    child.stdout!.on("data", (d) => ((stdout += d), (out += d)));
    child.stderr!.on("data", (d) => ((stderr += d), (out += d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, out });
    });
  });
}

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dbUrl = process.env.TEST_DATABASE_URL;
  if (!dbUrl) throw new Error("TEST_DATABASE_URL is not set: run through mocha's root hooks");
  return {
    NODE_ENV: "test",
    DATABASE_URL: dbUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0",
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    WEB_CONCURRENCY: "2",
    HOST: "127.0.0.1",
    // Rate-limit buckets of this test run only: runs sharing the machine's Redis (and users like
    // u_alice, and the address 127.0.0.1) must not spend each other's tokens.
    RATE_LIMIT_PREFIX: `city:rl:test:${process.pid}`,
    ...extra,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} during start-up:\n${out()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready within ${timeoutMs} ms:\n${out()}`);
}

/** Which worker answers /healthz on a fresh connection (the X-City-Worker header). */
function workerOnNewConnection(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? (res.headers["x-city-worker"] as string | undefined) : undefined);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/**
 * /readyz answers as soon as one worker is up; the others may still be starting (or, after a
 * kill or a reload, be replaced), and until they are every connection goes to the ready ones. The
 * primary hands new connections round-robin to ready workers, so once `count` different workers
 * answered on fresh connections, all of them serve. (A keep-alive client would ask one worker only.)
 */
export async function waitForWorkers(url: string, count = 2, timeoutMs = 30_000, out: () => string = () => ""): Promise<void> {
  const port = Number(new URL(url).port);
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`only workers ${[...seen].join(", ")} of ${count} answered within ${timeoutMs} ms\n${out()}`);
    const worker = await workerOnNewConnection(port);
    if (worker) seen.add(worker);
    else await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startServer(extra: Record<string, string> = {}): Promise<TestServer> {
  const port = extra.PORT ? Number(extra.PORT) : await freePort();
  const env = { ...process.env, ...testEnv(extra), PORT: String(port) };
  const child = spawn(process.execPath, [entry("main")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, () => log, 150_000);
    await waitForWorkers(url, Number((env as NodeJS.ProcessEnv).WEB_CONCURRENCY) || 1, 60_000, () => log);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    url,
    port,
    process: child,
    output: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
      }),
  };
}
