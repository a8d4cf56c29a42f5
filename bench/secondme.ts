// Queue overhead of Second Me: POST /secondme/invoke latency minus a direct call to the same
// stand-in Agents Core, at 1 and 50 concurrent users (each user sends one prompt at a time: one
// user's prompts are serialised by design). Processes, as in production: the stand-in, one API
// process (createApp, no cluster front door: this measures the queue, not the balancer) and one
// job worker process, against a fresh migrated PostgreSQL database and the local Redis.
// Direct and invoke runs alternate in rounds, so drifting machine load hits both alike.
// BENCH_USERS lists the runs: `N` is N users each sending their next prompt as soon as the last is
// answered (back to back: at N=50 this measures capacity, and the wait is queueing); `N@MS` is N
// users each sending one prompt every MS milliseconds, as people do (overhead at a given load).
// Run: node --import tsx bench/secondme.ts  [BENCH_SECONDS=4 BENCH_ROUNDS=3 BENCH_USERS=1,50@500,50
//      BENCH_WRITE=bench/secondme-run.md BENCH_PROFILE=/tmp/prof]
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync, writeFileSync } from "node:fs";
import { createMigratedDatabase } from "../test/support/database.js";
import { TEST_JWT_SECRET, userToken } from "../test/support/tokens.js";
import { dropKeys } from "../test/support/redis-keys.js";
import { measureFloors } from "./secondme-floors.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(here, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUNS = (process.env.BENCH_USERS ?? "1,50@500,50").split(",").map((spec) => {
  const [users, pace] = spec.split("@").map(Number);
  return { users: users!, paceMs: pace ?? 0 };
});
const CONCURRENCY = String(Math.max(64, ...RUNS.map((r) => r.users)));

// ---- orchestration -----------------------------------------------------------------------------
function start(args: string[], env: Record<string, string>, readyLine?: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // BENCH_PROFILE=<dir> writes a CPU profile of each child process there.
    const prof = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const child = spawn(process.execPath, [...prof, "--import", "tsx", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}`)));
    child.on("message", (m) => m === "ready" && resolve(child));
    child.stdout!.on("data", (b: Buffer) => readyLine?.test(b.toString()) && resolve(child));
  });
}

const stop = (c: ChildProcess) =>
  new Promise<void>((r) => {
    c.removeAllListeners("exit");
    c.once("exit", () => r());
    c.kill("SIGTERM");
  });

// node:http with keep-alive for both kinds of call: fetch costs several times the CPU, which on a
// small machine would be noise shared with the processes under test.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** CPU time (ms) a child process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * `users` loops, each sending one request at a time for `seconds`, the next one as soon as the last
 * is answered, or (paceMs > 0) at most one every `paceMs`, the users' starts spread over the first
 * interval. Returns every latency (ms).
 */
async function load(users: number, seconds: number, send: (user: number, i: number) => Promise<number>, paceMs = 0): Promise<number[]> {
  const until = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let errors = 0;
  const statuses = new Set<number>();
  await Promise.all(
    Array.from({ length: users }, async (_, u) => {
      if (paceMs) await sleep((paceMs * u) / users);
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        const status = await send(u, i);
        if (status !== 200) (errors++, statuses.add(status));
        else lat.push(performance.now() - t0);
        if (paceMs) await sleep(t0 + paceMs - performance.now());
      }
    }),
  );
  if (errors) throw new Error(`${errors} requests failed (status ${[...statuses].join(", ")})`);
  return lat;
}

async function main(): Promise<void> {
  const db = await createMigratedDatabase();
  const run = Math.random().toString(36).slice(2, 8);
  const standinPort = 17_000 + Math.floor(Math.random() * 1000);
  const apiPort = standinPort + 1000;
  const env = {
    NODE_ENV: "production",
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "warn",
    AGENTS_CORE_URL: `http://127.0.0.1:${standinPort}`,
    BULLMQ_PREFIX: `city:bench:${run}:bull`,
    SECONDME_CONCURRENCY: CONCURRENCY,
    // One bench user sends far more than a person would (50 writes/s is a user's limit).
    RATE_LIMIT_ENABLED: "false",
    PORT: String(apiPort),
  };
  const children: ChildProcess[] = [];
  try {
    children.push(await start(["src/dev/agents-core-standin-main.ts"], { PORT: String(standinPort), NATS_URL: "" }, /listening/));
    const worker = await start([fileURLToPath(import.meta.url), "worker"], env);
    const apiProc = await start([fileURLToPath(import.meta.url), "api"], env);
    children.push(worker, apiProc);
    // CPU the API and the worker spend per invoke (of everything in the request's path they
    // are the two processes this feature adds; PostgreSQL and Redis are shared with the machine).
    const cpu = () => (cpuMs(apiProc.pid) ?? NaN) + (cpuMs(worker.pid) ?? NaN);

    const api = `http://127.0.0.1:${apiPort}/secondme/invoke`;
    const direct = `${env.AGENTS_CORE_URL}/agents/ag_secondme_global/invoke`;
    const rows: string[] = [];
    for (const { users, paceMs } of RUNS) {
      const tokens = Array.from({ length: users }, (_, u) => userToken(`u_bench_${run}_${users}_${u}`));
      const viaApi = (u: number, i: number) => post(api, { authorization: `Bearer ${tokens[u]}` }, JSON.stringify({ prompt: `bench prompt ${i}` }));
      // The same body the worker sends, with a context of a few turns like a live conversation.
      const input = `Conversation so far (oldest first):\n[user] bench prompt 0\n[assistant] echo: bench prompt 0 (context: 0)\n\nCurrent message:\nbench prompt 1`;
      const viaDirect = (u: number) =>
        post(
          direct,
          {},
          JSON.stringify({ input, context: { user_id: `u${u}`, kind: "secondme" }, agent_id: "ag_secondme_global", message_text: "bench prompt 1", channel_id: `secondme:u${u}`, user_id: `u${u}` }),
        );
      // Warm up connections, prepared statements and the JIT.
      await load(users, 1, viaDirect, paceMs);
      await load(users, 2, viaApi, paceMs);
      const d: number[] = [];
      const a: number[] = [];
      let cpuSpent = 0;
      for (let r = 0; r < ROUNDS; r++) {
        // Appended in a loop: a long run's samples are too many to spread as call arguments.
        for (const x of await load(users, SECONDS / 2, viaDirect, paceMs)) d.push(x);
        const c0 = cpu();
        for (const x of await load(users, SECONDS, viaApi, paceMs)) a.push(x);
        cpuSpent += cpu() - c0;
      }
      d.sort((x, y) => x - y);
      a.sort((x, y) => x - y);
      const [d50, d99, a50, a99] = [quantile(d, 0.5), quantile(d, 0.99), quantile(a, 0.5), quantile(a, 0.99)];
      const pace = paceMs ? `one per ${paceMs} ms each` : "back to back";
      const row = `| ${users} | ${pace} | ${a.length} | ${(a.length / (ROUNDS * SECONDS)).toFixed(0)} | ${d50.toFixed(2)} | ${d99.toFixed(2)} | ${a50.toFixed(2)} | ${a99.toFixed(2)} | **${(a50 - d50).toFixed(2)}** | **${(a99 - d99).toFixed(2)}** | ${(cpuSpent / a.length).toFixed(2)} |`;
      console.log(row);
      rows.push(row);
    }
    const floors = await measureFloors(db.url, `city:bench:${run}:floors`);
    console.log(floors);
    const load1 = os.loadavg()[0]!.toFixed(2);
    const header = [
      `Measured ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, 1-min load average at the end ${load1}.`,
      `${ROUNDS} rounds of ${SECONDS} s per concurrency (direct runs ${SECONDS / 2} s), SECONDME_CONCURRENCY=${CONCURRENCY}.`,
      "",
      "| users | prompts | invokes | invokes/s | direct p50 ms | direct p99 ms | invoke p50 ms | invoke p99 ms | overhead p50 ms | overhead p99 ms | API+worker CPU ms/invoke |",
      "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
      "",
      "Floors measured in the same run (sequential, one at a time): what any design pays per invoke on this machine.",
      "",
      floors,
    ].join("\n");
    console.log(`\n${header}`);
    if (process.env.BENCH_WRITE) writeFileSync(process.env.BENCH_WRITE, header + "\n");
  } finally {
    for (const c of children.reverse()) await stop(c);
    await db.drop();
    await dropBenchKeys(`city:bench:${run}:*`);
  }
}

async function dropBenchKeys(pattern: string): Promise<void> {
  const { createRedis, closeRedis } = await import("../src/infra/redis/redis.js");
  const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0", "commands", "city-bench");
  await dropKeys(pattern, redis).finally(() => closeRedis(redis));
}

// ---- child roles -------------------------------------------------------------------------------
// At the end of the module: every function above is initialised by now.
const role = process.argv[2];
if (role === "api" || role === "worker") {
  const { loadConfig } = await import("../src/config/config.js");
  const config = loadConfig();
  let close: () => Promise<void>;
  if (role === "api") {
    const { createApp } = await import("../src/app.js");
    const app = await createApp(config, { workerId: "bench" });
    await new Promise<void>((r) => app.server.listen(config.port, "127.0.0.1", () => r()));
    close = () => app.close();
  } else {
    const { startSecondMeWorker } = await import("../workers/secondme-worker.js");
    close = (await startSecondMeWorker(config)).close;
  }
  process.send?.("ready");
  process.on("SIGTERM", () => void close().then(() => process.exit(0)));
} else {
  await main();
}
