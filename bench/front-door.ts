// Throughput and latency of one bare Koa app on 2 cluster workers, three ways, in one run:
//   (a) front door   — src/cluster/primary.ts (sid requests sticky, everything else handed whole)
//   (b) node cluster — workers listen on a shared port, the primary balances round-robin
//   (c) sticky       — plain @socket.io/sticky setupMaster in the primary
// The load generator (autocannon) runs as its own process, so it does not share the primary's
// event loop, but on a small machine it shares the CPUs with the workers.
// Run: node --import tsx bench/front-door.ts  [BENCH_SECONDS=5 BENCH_CONNECTIONS=32 BENCH_ROUNDS=1]
import cluster, { type Worker } from "node:cluster";
import { execFile, execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setupMaster } from "@socket.io/sticky";
import { startPrimary } from "../src/cluster/primary.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, "../test/fixtures/front-door-worker.ts");
const AUTOCANNON = path.join(here, "../node_modules/autocannon/autocannon.js");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const WORKERS = 2;
const env = { CITY_FIXTURE_REDIS_KEY: `city-front-door-bench-${process.pid}` };

interface Result {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU (primary + workers, user + system) per request, in µs. */
  cpuUs: number;
  errors: number;
  non2xx: number;
}

interface Target {
  port: number;
  /** Worker pids, for CPU accounting. */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Throughput depends on how much CPU the scenario gets on a shared machine; CPU time per request
 * does not, so it is measured too: /proc/<pid>/stat for the workers, process.cpuUsage() for the
 * primary (this process, which is idle apart from the scenario being loaded).
 */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function workersCpuUs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return (ticks / CLOCK_TICKS) * 1e6;
}

async function measure(target: Target, method: "GET" | "POST"): Promise<Result> {
  const primaryBefore = process.cpuUsage();
  const workersBefore = workersCpuUs(target.pids);
  const result = await load(target.port, method, SECONDS);
  const primary = process.cpuUsage(primaryBefore);
  const cpu = primary.user + primary.system + workersCpuUs(target.pids) - workersBefore;
  return { ...result, cpuUs: cpu / Math.max(1, result.rps * SECONDS) };
}

async function load(port: number, method: "GET" | "POST", seconds: number): Promise<Omit<Result, "cpuUs">> {
  const args = [AUTOCANNON, "-j", "-c", String(CONNECTIONS), "-d", String(seconds), "-m", method];
  if (method === "POST") args.push("-H", "content-type=application/json", "-b", JSON.stringify({ hello: "world", n: 1 }));
  args.push(`http://127.0.0.1:${port}${method === "GET" ? "/hello" : "/echo"}`);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

async function frontDoor(): Promise<Target> {
  const before = new Set(Object.keys(cluster.workers ?? {}));
  const primary = await startPrimary({ port: 0, host: "127.0.0.1", workers: WORKERS, workerScript: FIXTURE, env, log: () => {} });
  const mine = Object.entries(cluster.workers ?? {}).filter(([id]) => !before.has(id));
  return { port: primary.port, pids: mine.map(([, w]) => w!.process.pid!), stop: () => primary.close() };
}

async function nodeCluster(): Promise<Target> {
  const port = await freePort();
  cluster.setupPrimary({ exec: FIXTURE, serialization: "json" });
  const workers = fork({ CITY_FIXTURE_MODE: "listen", CITY_FIXTURE_PORT: String(port) });
  await Promise.all(workers.map((w) => once(w, "listening")));
  return { port, pids: pidsOf(workers), stop: () => kill(workers) };
}

async function plainSticky(): Promise<Target> {
  const server = http.createServer();
  setupMaster(server, { loadBalancingMethod: "least-connection" });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cluster.setupPrimary({ exec: FIXTURE, serialization: "advanced" });
  const workers = fork({ CITY_FIXTURE_MODE: "sticky" });
  await Promise.all(workers.map((w) => once(w, "message")));
  return {
    port: (server.address() as AddressInfo).port,
    pids: pidsOf(workers),
    stop: async () => {
      server.close();
      await kill(workers);
    },
  };
}

function fork(extra: Record<string, string>): Worker[] {
  return Array.from({ length: WORKERS }, (_, i) => cluster.fork({ ...env, ...extra, CITY_WORKER_ID: String(i + 1) }));
}

function pidsOf(workers: Worker[]): number[] {
  return workers.map((w) => w.process.pid!);
}

async function kill(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => (w.isDead() ? undefined : (w.process.kill("SIGKILL"), once(w, "exit")))));
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const scenarios: Array<[string, () => Promise<Target>]> = [
  ["(a) front door", frontDoor],
  ["(b) node cluster", nodeCluster],
  ["(c) plain sticky", plainSticky],
];

// One scenario at a time: @socket.io/sticky's setupMaster balances over every worker of the
// process (cluster.workers), so scenarios running side by side would lend each other workers.
// With BENCH_ROUNDS > 1 the scenarios take turns, so that load from anything else on the machine
// spreads over all of them, and the medians are reported.
const samples = new Map<string, { GET: Result[]; POST: Result[] }>(scenarios.map(([name]) => [name, { GET: [], POST: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, start] of scenarios) {
    const target = await start();
    try {
      for (const method of ["GET", "POST"] as const) {
        await load(target.port, method, 1); // warm-up: JIT and connection set-up out of the measurement
        samples.get(name)![method].push(await measure(target, method));
      }
    } finally {
      await target.stop();
    }
    console.error(`round ${round + 1}/${ROUNDS}: ${name} done`);
  }
}

/** The median of each figure over the rounds (the single run when ROUNDS is 1). */
function median(runs: Result[]): Result {
  const mid = (pick: (r: Result) => number) => runs.map(pick).sort((x, y) => x - y)[Math.floor(runs.length / 2)]!;
  return {
    rps: mid((r) => r.rps),
    p50: mid((r) => r.p50),
    p99: mid((r) => r.p99),
    cpuUs: mid((r) => r.cpuUs),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  };
}
const results = new Map([...samples].map(([name, s]) => [name, { GET: median(s.GET), POST: median(s.POST) }]));

const fmt = (r: Result) =>
  `${r.rps.toFixed(0).padStart(10)} | ${String(r.p50).padStart(4)} ms | ${String(r.p99).padStart(4)} ms | ${r.cpuUs.toFixed(0).padStart(8)}` +
  (r.errors || r.non2xx ? ` (${r.errors} err, ${r.non2xx} non-2xx)` : "");
console.log(`\n${os.cpus().length} CPUs, ${WORKERS} workers, autocannon -c ${CONNECTIONS} -d ${SECONDS} (keep-alive), median of ${ROUNDS} round(s), load average at the end ${os.loadavg()[0]!.toFixed(1)}\n`);
console.log("scenario          |  GET req/s |  p50    |  p99    | CPU µs/req | POST req/s |  p50    |  p99    | CPU µs/req");
for (const [name, { GET, POST }] of results) console.log(`${name.padEnd(17)} | ${fmt(GET)} | ${fmt(POST)}`);
const a = results.get("(a) front door")!;
const b = results.get("(b) node cluster")!;
console.log(`\nratio (a)/(b), throughput: GET ${(a.GET.rps / b.GET.rps).toFixed(2)}, POST ${(a.POST.rps / b.POST.rps).toFixed(2)} (goal >= 0.80)`);
console.log(`ratio (b)/(a), CPU per request (1.00 = same cost): GET ${(b.GET.cpuUs / a.GET.cpuUs).toFixed(2)}, POST ${(b.POST.cpuUs / a.POST.cpuUs).toFixed(2)}`);
process.exit(0);
