// Scenario 4, connections: RSS per idle connection. A fresh real server and a fresh baseline;
// RSS of each one's whole process tree (primary, workers; /proc/<pid>/status VmRSS) before and
// after N idle Socket.IO (websocket) connections, then after N idle raw-ws connections on top;
// the difference over N. On the real server every connection carries its own user's JWT and is
// subscribed to a room (100 per room, as members); on the baseline it is subscribed to a room.
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { userToken } from "../../test/support/tokens.js";
import { post } from "../lib/clients.js";
import { GC_FLAGS, ROOT, collectGarbage, startBaseline, startCity, treeRss, type HttpTarget } from "../lib/processes.js";
import type { Goal, ScenarioContext, ScenarioResult } from "../lib/report.js";
import { ratio, round, sleep } from "../lib/stats.js";

const PER_ROOM = 100;
const SETTLE_MS = 2000;

function hold(spec: object): Promise<{ child: ChildProcess; ready: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(ROOT, "bench/scenarios/idle-clients.ts"), [JSON.stringify(spec)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m) => resolve({ child, ready: (m as { ready: number }).ready }));
    child.once("exit", (code) => reject(new Error(`idle clients exited with ${code}`)));
  });
}

const release = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    c.removeAllListeners("exit");
    c.once("exit", () => resolve());
    c.send("close");
    setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
  });

/** Median of three samples, each taken after a full GC in every process of the tree. */
async function settledRss(pid: number): Promise<number> {
  await sleep(SETTLE_MS);
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) {
    collectGarbage(pid);
    await sleep(1000);
    xs.push(treeRss(pid));
  }
  return xs.sort((a, b) => a - b)[1]!;
}

export async function connections(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.full ? 10_000 : 2_000;
  ctx.log("connections: starting a fresh server and baseline");
  const [server, baseline] = await Promise.all([
    startCity({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, nodeFlags: GC_FLAGS }),
    startBaseline({ redisUrl: ctx.redisUrl, nodeFlags: GC_FLAGS }),
  ]);
  const children: ChildProcess[] = [];
  try {
    const run = Math.random().toString(36).slice(2, 8);
    const owner = { authorization: `Bearer ${userToken(`u_bench_conn_${run}`)}` };
    const rooms: string[] = [];
    for (let i = 0; i < Math.ceil(n / PER_ROOM); i++) {
      const res = await post(`${server.url}/city/rooms`, owner, JSON.stringify({ name: `Idle ${run} ${i}`, slug: `bench-idle-${run}-${i}` }));
      if (res.status !== 201) throw new Error(`room create failed: ${res.status} ${res.body}`);
      rooms.push((JSON.parse(res.body) as { id: string }).id);
    }
    const spec = (t: HttpTarget, kind: "sio" | "ws") => ({ kind, base: t.url, rooms, tokens: t === server, n, userPrefix: `u_bench_conn_${run}_${kind}_` });
    const m: Record<string, number[]> = { server: [], baseline: [] };
    const connected: Record<string, number[]> = { server: [], baseline: [] };
    // The server and the baseline get their connections at the same time (separate client
    // processes, separate process trees measured), so machine load hits both alike.
    const [s0, b0] = await Promise.all([settledRss(server.pid), settledRss(baseline.pid)]);
    m.server!.push(s0);
    m.baseline!.push(b0);
    for (const kind of ["sio", "ws"] as const) {
      await Promise.all(
        ([["server", server], ["baseline", baseline]] as const).map(async ([name, t]) => {
          const t0 = Date.now();
          const held = await hold(spec(t, kind));
          children.push(held.child);
          connected[name]!.push(held.ready);
          const connectS = (Date.now() - t0) / 1000;
          m[name]!.push(await settledRss(t.pid));
          const arr = m[name]!;
          ctx.log(`connections ${name} +${held.ready} ${kind} in ${connectS.toFixed(0)} s: ${round((arr[arr.length - 1]! - arr[arr.length - 2]!) / held.ready / 1024, 1)} KB each`);
        }),
      );
    }
    const per = (name: string, i: number) => (m[name]![i + 1]! - m[name]![i]!) / connected[name]![i]! / 1024;
    const rows = (["sio", "ws"] as const).flatMap((kind, i) => [
      [`server, ${kind === "sio" ? "Socket.IO (websocket)" : "raw ws"}`, connected.server![i]!, round(m.server![i]! / 2 ** 20), round(m.server![i + 1]! / 2 ** 20), round(per("server", i), 1), ratio(per("server", i), per("baseline", i))],
      [`baseline, ${kind === "sio" ? "Socket.IO (websocket)" : "raw ws"}`, connected.baseline![i]!, round(m.baseline![i]! / 2 ** 20), round(m.baseline![i + 1]! / 2 ** 20), round(per("baseline", i), 1), 1],
    ]);
    const goals: Goal[] = (["sio", "ws"] as const).map((kind, i) => ({
      goal: `≤ 16 KB RSS per idle ${kind === "sio" ? "Socket.IO" : "raw ws"} connection (${n})`,
      measured: `${round(per("server", i), 1)} KB (baseline ${round(per("baseline", i), 1)} KB)`,
      met: per("server", i) <= 16,
    }));
    return {
      name: "connections",
      tables: [
        {
          title: `Connections: RSS of all server processes after a full GC, ${n} idle connections per kind (Socket.IO first, raw ws on top)`,
          columns: ["side, kind", "connected", "RSS before MB", "RSS after MB", "KB per connection", "× baseline"],
          rows,
        },
      ],
      goals,
      raw: { n, rss: m, connected },
    };
  } finally {
    await Promise.all(children.map(release));
    await Promise.all([server.stop(), baseline.stop()]);
  }
}
