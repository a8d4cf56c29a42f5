// Scenario 6, footprint: what a production start costs, against the bare stack in the same run.
// Each round starts the bare stack alone (time from spawn to /healthz 200), then the real server
// alone as production runs it (NODE_ENV=production, 2 workers, the job process on: time from spawn
// to /readyz 200), lets both idle together for IDLE_MS, and reads the RSS of every process of both
// trees (/proc/<pid>/status VmRSS, no forced GC: what an operator's `ps` shows). The issue's goals:
// all node processes together ≤ 1.5× the bare stack's three (our job process counted on our side),
// our primary ≤ 1.2× the bare primary, start to ready ≤ 3 s.
import { readFileSync } from "node:fs";
import { processTree, rss, startBaseline, startCity, type HttpTarget } from "../lib/processes.js";
import type { Goal, ScenarioContext, ScenarioResult, Table } from "../lib/report.js";
import { ratio, round, sleep } from "../lib/stats.js";

const IDLE_MS = 10_000;
const MB = 2 ** 20;

type Role = "primary" | "worker 1" | "worker 2" | "job process" | "other";

interface Footprint {
  /** RSS in MB per role; "other" sums any non-node child (an esbuild service, a redis-server). */
  readonly rss: Partial<Record<Role, number>>;
  readonly nodeTotal: number;
  readonly processes: readonly string[];
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

function footprint(root: number): Footprint {
  const out: Partial<Record<Role, number>> = {};
  const processes: string[] = [];
  let workers = 0;
  let nodeTotal = 0;
  for (const pid of processTree(root)) {
    const cmd = commandOf(pid);
    const mb = rss(pid) / MB;
    if (!cmd || mb === 0) continue;
    processes.push(`${pid} ${round(mb)} MB ${cmd.slice(0, 120)}`);
    const isNode = cmd.split(" ")[0] === process.execPath || /(^|\/)node$/.test(cmd.split(" ")[0]!);
    const role: Role = !isNode
      ? "other"
      : pid === root
        ? "primary"
        : /workers\/main\.[jt]s|jobs-main\.js/.test(cmd)
          ? "job process"
          : (`worker ${++workers}` as Role);
    if (isNode) nodeTotal += mb;
    out[role] = (out[role] ?? 0) + mb;
  }
  return { rss: out, nodeTotal, processes };
}

async function timed<T extends HttpTarget>(start: () => Promise<T>): Promise<{ target: T; ms: number }> {
  const t0 = performance.now();
  const target = await start();
  return { target, ms: performance.now() - t0 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

export async function footprintScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.full ? 3 : 2;
  const city: { ms: number; fp: Footprint }[] = [];
  const bare: { ms: number; fp: Footprint }[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = await timed(() => startBaseline({ redisUrl: ctx.redisUrl }));
    const c = await timed(() =>
      startCity({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, env: { CITY_JOBS: "on", CITY_DEFAULT_ROOMS: "general,welcome,builders" } }),
    );
    await sleep(IDLE_MS);
    const round_ = { city: { ms: c.ms, fp: footprint(c.target.pid) }, bare: { ms: b.ms, fp: footprint(b.target.pid) } };
    city.push(round_.city);
    bare.push(round_.bare);
    ctx.log(`footprint round ${i + 1}: city ${round(round_.city.fp.nodeTotal)} MB in ${round(c.ms, 0)} ms, bare ${round(round_.bare.fp.nodeTotal)} MB in ${round(b.ms, 0)} ms`);
    await Promise.all([c.target.stop(), b.target.stop()]);
  }

  const roleMb = (side: typeof city, role: Role) => round(median(side.map((s) => s.fp.rss[role] ?? 0)));
  const roles: Role[] = ["primary", "worker 1", "worker 2", "job process", "other"];
  const total = { city: round(median(city.map((s) => s.fp.nodeTotal))), bare: round(median(bare.map((s) => s.fp.nodeTotal))) };
  const start = { city: round(median(city.map((s) => s.ms)), 0), bare: round(median(bare.map((s) => s.ms)), 0) };
  const primary = { city: roleMb(city, "primary"), bare: roleMb(bare, "primary") };
  const table: Table = {
    title: `Footprint: RSS per process (MB) idle ${IDLE_MS / 1000} s after start, and start to ready (median of ${rounds} rounds)`,
    columns: ["process", "server", "bare stack", "ratio"],
    rows: [
      ...roles.map((r) => [r, roleMb(city, r), roleMb(bare, r), r === "primary" || r === "worker 1" || r === "worker 2" ? ratio(roleMb(city, r), roleMb(bare, r)) : "–"]),
      ["all node processes", total.city, total.bare, ratio(total.city, total.bare)],
      ["start to ready (ms)", start.city, start.bare, ratio(start.city, start.bare)],
    ],
    note: `Server: NODE_ENV=production, 2 workers and the job process (CITY_JOBS on), /readyz. Bare stack: bench/baseline/server.ts, /healthz. Last round's processes:\n\n${[
      ...city.at(-1)!.fp.processes.map((p) => `- server ${p}`),
      ...bare.at(-1)!.fp.processes.map((p) => `- bare ${p}`),
    ].join("\n")}`,
  };
  const goals: Goal[] = [
    { goal: "all node processes ≤ 1.5× the bare stack's", measured: `${total.city} MB vs ${total.bare} MB (${ratio(total.city, total.bare)}×)`, met: total.city <= 1.5 * total.bare },
    { goal: "primary ≤ 1.2× the bare primary", measured: `${primary.city} MB vs ${primary.bare} MB (${ratio(primary.city, primary.bare)}×)`, met: primary.city <= 1.2 * primary.bare },
    { goal: "start to /readyz ≤ 3 s", measured: `${start.city} ms (bare stack ${start.bare} ms)`, met: start.city <= 3000 },
  ];
  return { name: "footprint", tables: [table], goals, raw: { city, bare } };
}
