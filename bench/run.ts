// `npm run bench` (quick, under 3 minutes) and `npm run bench -- --full`: every scenario starts
// the real server (2 workers) and, in the same run, its baseline, and reports throughput, latency
// and the ratio to the baseline. Writes bench/results/{results.json,report.md,latency.svg} and
// copies the chart to docs/bench-latency.svg.
// Options: --full, --only=fanout,ingest,presence,connections,secondme,footprint; BENCH_VERBOSE=1 shows the
// servers' output; BENCH_PROFILE=<dir> writes CPU profiles of every server process.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createMigratedDatabase } from "../test/support/database.js";
import { latencyChart } from "./lib/chart.js";
import { ROOT, startBaseline, startCity, startRedis, stopAll } from "./lib/processes.js";
import { markdownTable, type ScenarioContext, type ScenarioResult } from "./lib/report.js";
import { connections } from "./scenarios/connections.js";
import { fanout } from "./scenarios/fanout.js";
import { footprintScenario } from "./scenarios/footprint.js";
import { ingest } from "./scenarios/ingest.js";
import { presence } from "./scenarios/presence.js";
import { secondme } from "./scenarios/secondme.js";

const SCENARIOS: Record<string, (ctx: ScenarioContext) => Promise<ScenarioResult>> = { fanout, ingest, presence, connections, secondme, footprint: footprintScenario };

const args = process.argv.slice(2);
const full = args.includes("--full");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
// Memory per connection is judged from RSS, whose noise (a GC or an allocator trim moves it by tens
// of MB) swamps a few thousand connections: it needs the full run's 10,000, so the quick run
// leaves it out unless asked for by name.
const QUICK_SKIPS = ["connections"];
const chosen = Object.keys(SCENARIOS).filter((k) => (only ? only.includes(k) : full || !QUICK_SKIPS.includes(k)));
const OUT = path.join(ROOT, "bench/results");

async function main(): Promise<void> {
  const started = Date.now();
  const log = (msg: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${msg}`);
  const load0 = os.loadavg();
  log(`${full ? "full" : "quick"} run: ${chosen.join(", ")}; load average ${load0.map((l) => l.toFixed(1)).join(" ")}`);
  const db = await createMigratedDatabase();
  const redis = await startRedis();
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  try {
    let pair: ReturnType<ScenarioContext["shared"]> | undefined;
    const ctx: ScenarioContext = {
      full,
      databaseUrl: db.url,
      redisUrl: redis.url,
      log,
      shared: () =>
        (pair ??= (async () => {
          log("starting the real server and the baseline (shared by fan-out, ingest and presence)");
          const [server, baseline] = await Promise.all([startCity({ databaseUrl: db.url, redisUrl: redis.url }), startBaseline({ redisUrl: redis.url })]);
          log("both up");
          return { server, baseline };
        })()),
    };
    for (const name of chosen) {
      const t0 = Date.now();
      try {
        results.push(await SCENARIOS[name]!(ctx));
      } catch (err) {
        failures.push(`${name}: ${(err as Error).stack ?? err}`);
        log(`${name} FAILED: ${(err as Error).message}`);
      }
      log(`${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    await stopAll();
    await db.drop().catch(() => {});
  }
  const seconds = (Date.now() - started) / 1000;
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const lines = [
    `# Benchmark run (${full ? "full" : "quick"}), ${new Date().toISOString()}`,
    "",
    `Machine: ${machine}. Load average at start ${load0.map((l) => l.toFixed(1)).join(" ")}, at end ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}. Took ${seconds.toFixed(0)} s.`,
    "",
    "## Goals",
    "",
    "| goal | measured | met |",
    "| --- | --- | --- |",
    ...results.flatMap((r) => r.goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.met ? "yes" : "**no**"} |`)),
    "",
    ...(full || only ? [] : [`Not in the quick run: ${QUICK_SKIPS.join(", ")} (\`npm run bench -- --full\`).`, ""]),
    ...results.flatMap((r) => [`## ${r.name}`, "", ...r.tables.map((t) => markdownTable(t) + "\n")]),
    ...(failures.length ? ["## Failures", "", ...failures.map((f) => "```\n" + f + "\n```")] : []),
  ];
  mkdirSync(OUT, { recursive: true });
  const report = lines.join("\n") + "\n";
  writeFileSync(path.join(OUT, "report.md"), report);
  writeFileSync(path.join(OUT, "results.json"), JSON.stringify({ full, machine, load0, results, failures }, null, 2));
  const points = results.flatMap((r) => r.chart ?? []);
  if (points.length) {
    const svg = latencyChart(points, `Fan-out delivery latency (${full ? "full" : "quick"} run)`);
    writeFileSync(path.join(OUT, "latency.svg"), svg);
    mkdirSync(path.join(ROOT, "docs"), { recursive: true });
    copyFileSync(path.join(OUT, "latency.svg"), path.join(ROOT, "docs/bench-latency.svg"));
  }
  process.stdout.write(report);
  log(`wrote bench/results/report.md, results.json${points.length ? ", latency.svg (copied to docs/bench-latency.svg)" : ""}`);
  process.exit(failures.length ? 1 : 0);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));
main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
