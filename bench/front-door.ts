// Throughput and latency of one bare Koa app on 2 cluster workers, three ways, in one run:
//   (a) front door   — src/cluster/primary.ts (sid requests sticky, everything else handed whole)
//   (b) node cluster — workers listen on a shared port, the primary balances round-robin
//   (c) sticky       — plain @socket.io/sticky setupMaster in the primary
// The load generator (autocannon) runs as its own process, so it does not share the primary's
// event loop, but on a small machine it shares the CPUs with the workers.
// Run: node --import tsx bench/front-door.ts  [BENCH_SECONDS=5 BENCH_CONNECTIONS=32 BENCH_ROUNDS=1]
import cluster, { type Worker } from "node:cluster";
import { execFile } from "node:child_process";
import { once } from "node:events";
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
  errors: number;
  non2xx: number;
}

interface Target {
  port: number;
  stop(): Promise<void>;
}

async function load(port: number, method: "GET" | "POST", seconds: number): Promise<Result> {
  const args = [AUTOCANNON, "-j", "-c", String(CONNECTIONS), "-d", String(seconds), "-m", method];
  if (method === "POST") args.push("-H", "content-type=application/json", "-b", JSON.stringify({ hello: "world", n: 1 }));
  args.push(`http://127.0.0.1:${port}${method === "GET" ? "/hello" : "/echo"}`);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

async function frontDoor(): Promise<Target> {
  const primary = await startPrimary({ port: 0, host: "127.0.0.1", workers: WORKERS, workerScript: FIXTURE, env, log: () => {} });
  return { port: primary.port, stop: () => primary.close() };
}

async function nodeCluster(): Promise<Target> {
  const port = await freePort();
  cluster.setupPrimary({ exec: FIXTURE, serialization: "json" });
  const workers = fork({ CITY_FIXTURE_MODE: "listen", CITY_FIXTURE_PORT: String(port) });
  await Promise.all(workers.map((w) => once(w, "listening")));
  return { port, stop: () => kill(workers) };
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
    stop: async () => {
      server.close();
      await kill(workers);
    },
  };
}

function fork(extra: Record<string, string>): Worker[] {
  return Array.from({ length: WORKERS }, (_, i) => cluster.fork({ ...env, ...extra, CITY_WORKER_ID: String(i + 1) }));
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

// All three run side by side and the measurements alternate between them, so that load from
// anything else on the machine spreads over the scenarios instead of landing on one of them.
const targets = new Map<string, Target>();
const samples = new Map<string, { GET: Result[]; POST: Result[] }>();
try {
  for (const [name, start] of scenarios) {
    targets.set(name, await start());
    samples.set(name, { GET: [], POST: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const method of ["GET", "POST"] as const) {
      for (const [name, target] of targets) {
        await load(target.port, method, 1); // warm-up: JIT and connection set-up out of the measurement
        samples.get(name)![method].push(await load(target.port, method, SECONDS));
        console.error(`round ${round + 1}/${ROUNDS}: ${name} ${method} done`);
      }
    }
  }
} finally {
  for (const target of targets.values()) await target.stop();
}

/** The sample with the median throughput (one run when ROUNDS is 1). */
function median(runs: Result[]): Result {
  return [...runs].sort((x, y) => x.rps - y.rps)[Math.floor(runs.length / 2)]!;
}
const results = new Map([...samples].map(([name, s]) => [name, { GET: median(s.GET), POST: median(s.POST) }]));

const fmt = (r: Result) => `${r.rps.toFixed(0).padStart(9)} | ${String(r.p50).padStart(4)} ms | ${String(r.p99).padStart(4)} ms${r.errors || r.non2xx ? ` (${r.errors} err, ${r.non2xx} non-2xx)` : ""}`;
console.log(`\n${os.cpus().length} CPUs, ${WORKERS} workers, autocannon -c ${CONNECTIONS} -d ${SECONDS} (keep-alive), median of ${ROUNDS} round(s), load average at the end ${os.loadavg()[0]!.toFixed(1)}\n`);
console.log("scenario          |  GET req/s |  p50    |  p99    | POST req/s |  p50    |  p99");
for (const [name, { GET, POST }] of results) console.log(`${name.padEnd(17)} | ${fmt(GET)} | ${fmt(POST)}`);
const a = results.get("(a) front door")!;
const b = results.get("(b) node cluster")!;
console.log(`\nratio (a)/(b): GET ${(a.GET.rps / b.GET.rps).toFixed(2)}, POST ${(a.POST.rps / b.POST.rps).toFixed(2)} (goal >= 0.80)`);
process.exit(0);
