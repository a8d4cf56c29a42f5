// Scenario 4, connections: RSS per idle connection. A fresh real server and a fresh baseline per kind;
// RSS of each one's whole process tree (primary, workers; /proc/<pid>/status VmRSS) before and
// after N idle Socket.IO (websocket) connections, or N idle raw-ws connections;
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
const WARM_UP = 200;
const SETTLE_MS = 2000;

/** A client process holding the first half of the connections; `more()` opens the rest. */
function hold(spec: object): Promise<{ child: ChildProcess; ready: number; more(): Promise<number> }> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(ROOT, "bench/scenarios/idle-clients.ts"), [JSON.stringify(spec)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const next = () => new Promise<number>((r) => child.once("message", (m) => r((m as { ready: number }).ready)));
    const more = () => {
      const p = next();
      child.send("more");
      return p;
    };
    next().then((ready) => resolve({ child, ready, more }));
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

interface KindResult {
  /** Connections open after the first half and after all. */
  half: Record<Side, number>;
  connected: Record<Side, number>;
  before: Record<Side, number>;
  /** RSS with the first half open. */
  mid: Record<Side, number>;
  after: Record<Side, number>;
}

type Side = "server" | "baseline";

type Kind = "sio" | "ws";

/** Kinds of connection measured one after the other on one fresh server and one fresh baseline,
 *  the connections of a kind kept open while the next is measured. The full run gives each kind
 *  a pair of its own (RSS deltas of a process that already grew its heap for another kind may
 *  hide the new connections' cost); the quick run shares one pair to save a start-up. */
async function measureKinds(ctx: ScenarioContext, kinds: Kind[], n: number): Promise<Partial<Record<Kind, KindResult>>> {
  ctx.log(`connections (${kinds.join(", ")}): starting a fresh server and baseline`);
  const [server, baseline] = await Promise.all([
    startCity({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, nodeFlags: GC_FLAGS }),
    startBaseline({ redisUrl: ctx.redisUrl, nodeFlags: GC_FLAGS }),
  ]);
  const children: ChildProcess[] = [];
  const run = Math.random().toString(36).slice(2, 8);
  const rooms: string[] = [];
  try {
    const owner = { authorization: `Bearer ${userToken(`u_bench_conn_${run}`)}` };
    for (let i = 0; i < Math.ceil(n / PER_ROOM); i++) {
      const res = await post(`${server.url}/city/rooms`, owner, JSON.stringify({ name: `Idle ${run} ${i}`, slug: `bench-idle-${run}-${i}` }));
      if (res.status !== 201) throw new Error(`room create failed: ${res.status} ${res.body}`);
      rooms.push((JSON.parse(res.body) as { id: string }).id);
    }
    // Warm-up: a first round of connections makes each process load and compile what serving
    // them needs once (Prisma's query compiler is WebAssembly loaded on first use, ~10 MB of heap
    // and more of wasm memory per worker; JIT code; pools). Closed again before measuring.
    for (const kind of kinds) {
      await Promise.all(
        [server, baseline].map(async (t) => {
          const warm = await hold({ kind, base: t.url, rooms, tokens: t === server, n: WARM_UP, userPrefix: `u_bench_warm_${run}_${kind}_` });
          await warm.more();
          await release(warm.child);
        }),
      );
    }
    const results: Partial<Record<Kind, KindResult>> = {};
    for (const kind of kinds) results[kind] = await measureKind(kind);
    return results;
  } finally {
    await Promise.all(children.map(release));
    await Promise.all([server.stop(), baseline.stop()]);
  }

  async function measureKind(kind: Kind): Promise<KindResult> {
    const zero = () => ({ server: 0, baseline: 0 });
    const out: KindResult = { half: zero(), connected: zero(), before: zero(), mid: zero(), after: zero() };
    const [s0, b0] = await Promise.all([settledRss(server.pid), settledRss(baseline.pid)]);
    out.before = { server: s0, baseline: b0 };
    // The server and the baseline get their connections at the same time (separate client
    // processes, separate process trees measured), so machine load hits both alike.
    await Promise.all(
      ([["server", server], ["baseline", baseline]] as const).map(async ([side, t]) => {
        const t0 = Date.now();
        const held = await hold({ kind, base: t.url, rooms, tokens: t === server, n, userPrefix: `u_bench_conn_${run}_${kind}_` });
        children.push(held.child);
        out.half[side] = held.ready;
        out.mid[side] = await settledRss(t.pid);
        out.connected[side] = await held.more();
        const connectS = (Date.now() - t0) / 1000;
        out.after[side] = await settledRss(t.pid);
        const kb = (out.after[side] - out.mid[side]) / (out.connected[side] - out.half[side]) / 1024;
        ctx.log(`connections ${side} ${out.connected[side]} ${kind} in ${connectS.toFixed(0)} s: second half ${round(kb, 1)} KB each`);
      }),
    );
    return out;
  }
}

export async function connections(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.full ? 10_000 : 1_000;
  const measured = ctx.full ? { ...(await measureKinds(ctx, ["sio"], n)), ...(await measureKinds(ctx, ["ws"], n)) } : await measureKinds(ctx, ["sio", "ws"], n);
  const results = measured as Record<Kind, KindResult>;
  /** RSS per connection of the second half (the steady cost); `all`: of every connection from the
   *  fresh process, which also counts the one-off growth of the first connections. */
  const per = (kind: "sio" | "ws", side: Side) => {
    const r = results[kind];
    return (r.after[side] - r.mid[side]) / (r.connected[side] - r.half[side]) / 1024;
  };
  const all = (kind: "sio" | "ws", side: Side) => (results[kind].after[side] - results[kind].before[side]) / results[kind].connected[side] / 1024;
  const label = (kind: "sio" | "ws") => (kind === "sio" ? "Socket.IO (websocket)" : "raw ws");
  const rows = (["sio", "ws"] as const).flatMap((kind) =>
    (["server", "baseline"] as const).map((side) => [
      `${side}, ${label(kind)}`,
      results[kind].connected[side],
      round(results[kind].before[side] / 2 ** 20),
      round(results[kind].mid[side] / 2 ** 20),
      round(results[kind].after[side] / 2 ** 20),
      round(all(kind, side), 1),
      round(per(kind, side), 1),
      side === "server" ? ratio(per(kind, "server"), per(kind, "baseline")) : 1,
    ]),
  );
  const goals: Goal[] = (["sio", "ws"] as const).map((kind) => ({
    goal: `≤ 16 KB RSS per idle ${kind === "sio" ? "Socket.IO" : "raw ws"} connection (${n})`,
    measured: `${round(per(kind, "server"), 1)} KB (baseline ${round(per(kind, "baseline"), 1)} KB); all ${round(all(kind, "server"), 1)} KB (baseline ${round(all(kind, "baseline"), 1)} KB)`,
    met: per(kind, "server") <= 16,
  }));
  return {
    name: "connections",
    tables: [
      {
        title: `Connections: RSS of all server processes after a full GC, ${n} idle connections of one kind on a fresh server and baseline`,
        columns: ["side, kind", "connected", "RSS before MB", "RSS at half MB", "RSS after MB", "KB/conn, all", "KB/conn, second half", "× baseline (second half)"],
        rows,
        note: "“All”: (after − before) / N, measured after a warm-up round of 200 connections (opened and closed), still includes growth that the connect storm causes once (heap and allocator pools; with tokens, every join is a membership write and a room.join broadcast to the room's members). “Second half”: (after − at half) / (N/2), the steady cost of one more idle connection; the goal is judged on it.",
      },
    ],
    goals,
    raw: { n, results },
  };
}
