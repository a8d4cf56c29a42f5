// The processes a benchmark run needs: a private redis-server (so the run neither hears nor
// disturbs other servers on the machine's Redis: the Socket.IO adapter's channels are global),
// the real server as production runs it (the compiled `dist/src/main.js`: the cluster primary, its
// front door and 2 workers) and the bare-stack baseline (bench/baseline/server.ts, compiled the
// same way, so neither side pays for a TypeScript loader), plus the RSS of a process tree.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { entry } from "../../test/support/server.js";
import { TEST_JWT_SECRET } from "../../test/support/tokens.js";
import { sleep } from "./stats.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

export interface HttpTarget extends Proc {
  readonly url: string;
  readonly port: number;
}

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const live = new Set<Proc>();

function launch(name: string, cmd: string, args: string[], env: Record<string, string>, extraArgs: string[] = []): Proc {
  const child = spawn(cmd, [...extraArgs, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${b}`);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const proc: Proc = {
    name,
    child,
    pid: child.pid!,
    output: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        live.delete(proc);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // Writing CPU profiles at exit takes a while: wait longer before killing.
        const hard = setTimeout(() => child.kill("SIGKILL"), process.env.BENCH_PROFILE ? 120_000 : 20_000);
        child.once("exit", () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
  live.add(proc);
  return proc;
}

/** Stops whatever is still running (on errors and at exit). */
export async function stopAll(): Promise<void> {
  // Servers first: their graceful stop still talks to Redis.
  await Promise.all([...live].filter((p) => p.name !== "redis").map((p) => p.stop()));
  await Promise.all([...live].map((p) => p.stop()));
}

async function waitHttp(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode} during start-up:\n${proc.output()}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    // Short: the footprint scenario times start-up with this.
    await sleep(50);
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${proc.output()}`);
}

export async function startRedis(): Promise<{ url: string; proc: Proc }> {
  const port = await freePort();
  const proc = launch("redis", "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "20000"], {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`redis-server did not start:\n${proc.output()}`);
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}/0`, proc };
}

/** Flags for every Node process a run starts (BENCH_PROFILE=<dir> writes CPU profiles there). */
function nodeFlags(extra: string[] = []): string[] {
  const dir = process.env.BENCH_PROFILE;
  return [...(dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), ...extra];
}

/** Node flags that let `collectGarbage` run a full GC in every process of the tree. */
export const GC_FLAGS = ["--expose-gc", "--require", path.join(ROOT, "bench/lib/gc-on-signal.cjs")];

/** Asks every process of the tree for a full GC (see gc-on-signal.ts). */
export function collectGarbage(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, "SIGUSR2");
    } catch {
      /* gone */
    }
  }
}

/** The real server: `npm start`'s entry with 2 workers, the rate limiter off, no job workers. */
export async function startCity(opts: { databaseUrl: string; redisUrl: string; env?: Record<string, string>; nodeFlags?: string[] }): Promise<HttpTarget> {
  const port = await freePort();
  const env = {
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    WEB_CONCURRENCY: "2",
    LOG_LEVEL: "warn",
    RATE_LIMIT_ENABLED: "false",
    CITY_JOBS: "off",
    CITY_DEFAULT_ROOMS: "general",
    ...(process.env.BENCH_PROFILE ? { SHUTDOWN_TIMEOUT_MS: "90000" } : {}),
    ...opts.env,
  };
  // The workers inherit the primary's execArgv, so --cpu-prof reaches them too.
  const proc = launch("city", process.execPath, [...nodeFlags(opts.nodeFlags), entry("main")], env);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/readyz`, proc, 120_000);
  return { ...proc, url, port };
}

/** bench/baseline/server.ts compiled to JavaScript (one file; its packages stay imports). */
async function compiledBaseline(): Promise<string> {
  const outfile = path.join(ROOT, "bench/results/baseline/server.js");
  const esbuild = await import("esbuild");
  await esbuild.build({ entryPoints: [path.join(ROOT, "bench/baseline/server.ts")], outfile, platform: "node", format: "esm", target: "node20", logLevel: "warning" });
  return outfile;
}

/** The bare stack: cluster + @socket.io/sticky + Socket.IO + Redis adapter + ws; no auth, no database. */
export async function startBaseline(opts: { redisUrl: string; nodeFlags?: string[] }): Promise<HttpTarget> {
  const port = await freePort();
  const env = { PORT: String(port), REDIS_URL: opts.redisUrl, WEB_CONCURRENCY: "2" };
  const proc = launch("baseline", process.execPath, [...nodeFlags(opts.nodeFlags), await compiledBaseline()], env);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/healthz`, proc, 60_000);
  return { ...proc, url, port };
}

/** The pid and every descendant (cluster workers, their children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, "utf8").split(/\s+/).filter(Boolean)) out.push(Number(c));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

/** VmRSS of a process in bytes (0 when it is gone). */
export function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const treeRss = (pid: number) => processTree(pid).reduce((sum, p) => sum + rss(p), 0);

/** CPU time (user + system) of a process tree in ms, from /proc/<pid>/stat. */
export function treeCpuMs(pid: number): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / tick;
    } catch {
      /* gone */
    }
  }
  return total;
}
