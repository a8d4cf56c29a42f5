// Scenario 3, presence: N presence clients (half Socket.IO on /city/presence, half raw ws on
// /ws/city/presence, each its own user with a valid JWT) send heartbeats as fast as the server's
// per-connection flood guard allows (20/s sustained, burst 40: each client sends 2 every 105 ms,
// 19/s). As the front end does, heartbeats ask for no answer, except one in 20 of the Socket.IO
// ones, whose ack gives the latency. Throughput is the cluster's own count of accepted heartbeats
// (city_heartbeats_total on /metrics); the client's count (sent minus error frames) is shown
// beside it.
// Baseline, in the same run and alternating with it: SETEX from an ioredis client in this
// process against the same Redis, awaited one at a time, concurrent, and pipelined.
import { Redis } from "ioredis";
import type { Socket } from "socket.io-client";
import type WebSocket from "ws";
import { dropKeys } from "../../test/support/redis-keys.js";
import { userToken } from "../../test/support/tokens.js";
import { connectSio, connectWs, openMany } from "../lib/clients.js";
import type { Goal, ScenarioContext, ScenarioResult } from "../lib/report.js";
import { Samples, ratio, round, sleep } from "../lib/stats.js";

const TICK_MS = 105;
const PER_TICK = 2;

async function heartbeatsTotal(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^city_heartbeats_total\s+(\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function presence(ctx: ScenarioContext): Promise<ScenarioResult> {
  // Each client may send 20 events/s (the flood guard), so the quick run needs 2,000 of them to
  // offer more than the 20,000/s goal.
  const n = ctx.full ? 5000 : 2000;
  const rounds = 2;
  const seconds = ctx.full ? 10 : 4;
  const { server } = await ctx.shared();
  const run = Math.random().toString(36).slice(2, 8);
  const wsBase = server.url.replace(/^http/, "ws");
  const half = Math.floor(n / 2);
  let measuring = false;
  let acked = 0;
  let refused = 0;
  let wsSent = 0;
  const lat = new Samples();
  ctx.log(`presence: connecting ${n} clients`);
  const t0 = Date.now();
  const [sio, ws] = await Promise.all([
    openMany(half, 50, (i) => connectSio(`${server.url}/city/presence`, { token: userToken(`u_bench_pr_${run}_${i}`) })),
    openMany(n - half, 50, async (i) => {
    const w = await connectWs(`${wsBase}/ws/city/presence?token=${userToken(`u_bench_pr_${run}_w${i}`)}`);
    w.on("message", (d: WebSocket.RawData) => {
      if (measuring && String(d).includes('"event":"error"')) refused++;
    });
    return w;
  }),
  ]);
  ctx.log(`presence: ${n} clients connected in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const frame = JSON.stringify({ event: "presence.heartbeat" });
  let behind = 0;
  let sioSent = 0;
  let sampled = 0;
  const tick = (s: Socket) => {
    if (measuring) sioSent++;
    if (++sampled % 20 !== 0) return void s.emit("presence.heartbeat", {});
    const t0 = performance.now();
    s.emit("presence.heartbeat", {}, (r: { event?: string }) => {
      if (!measuring) return;
      if (r?.event === "error") refused++;
      else {
        acked++;
        lat.add(performance.now() - t0);
      }
    });
  };
  // Socket.IO errors for heartbeats without an ack arrive as `error` events.
  for (const s of sio) s.on("error", () => measuring && refused++);
  let timer: NodeJS.Timeout | undefined;
  const startHeartbeats = () => {
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      if (now - last > TICK_MS * 1.5) behind++;
      last = now;
      for (const s of sio) for (let k = 0; k < PER_TICK; k++) tick(s);
      for (const w of ws) for (let k = 0; k < PER_TICK; k++) {
        w.send(frame);
        if (measuring) wsSent++;
      }
    }, TICK_MS);
  };
  const stopHeartbeats = () => clearInterval(timer);

  const redis = new Redis(ctx.redisUrl);
  const key = (i: number) => `city:bench:setex:${run}:${i % 10_000}`;
  const base = { one: 0, concurrent: 0, pipelined: 0, secs: 0 };
  const baselineRound = async (secs: number) => {
    const each = secs / 3;
    let until = performance.now() + each * 1000;
    for (let i = 0; performance.now() < until; i++) {
      await redis.setex(key(i), 40, "online");
      base.one++;
    }
    until = performance.now() + each * 1000;
    await Promise.all(
      Array.from({ length: n }, async (_, c) => {
        for (let i = c; performance.now() < until; i += n) {
          await redis.setex(key(i), 40, "online");
          base.concurrent++;
        }
      }),
    );
    until = performance.now() + each * 1000;
    for (let i = 0; performance.now() < until; ) {
      const p = redis.pipeline();
      for (let k = 0; k < 500; k++, i++) p.setex(key(i), 40, "online");
      await p.exec();
      base.pipelined += 500;
    }
    base.secs += each;
  };

  let serverSecs = 0;
  let counted: number | undefined = 0;
  try {
    // Warm-up (and the bulk updates every connection gets on connect).
    startHeartbeats();
    await sleep(2000);
    await baselineRound(1.5);
    for (let r = 0; r < rounds; r++) {
      const c0 = await heartbeatsTotal(server.url);
      const a0 = sioSent + wsSent - refused;
      measuring = true;
      await sleep(seconds * 1000);
      measuring = false;
      const c1 = await heartbeatsTotal(server.url);
      counted = c0 === undefined || c1 === undefined || counted === undefined ? undefined : counted + (c1 - c0);
      serverSecs += seconds;
      ctx.log(`presence server round ${r + 1}: ${Math.round((sioSent + wsSent - refused - a0) / seconds)}/s (client count), ${c0 !== undefined && c1 !== undefined ? Math.round((c1 - c0) / seconds) : "?"}/s (server counter)`);
      stopHeartbeats();
      await sleep(500); // let the server drain before the baseline runs
      await baselineRound(seconds);
      ctx.log(`presence baseline after round ${r + 1}: one-by-one ${Math.round(base.one / base.secs)}/s, concurrent ${Math.round(base.concurrent / base.secs)}/s, pipelined ${Math.round(base.pipelined / base.secs)}/s`);
      if (r < rounds - 1) {
        startHeartbeats();
        await sleep(1000);
      }
    }
  } finally {
    stopHeartbeats();
    for (const s of sio) s.close();
    for (const w of ws) w.terminate();
    await dropKeys(`city:bench:setex:${run}:*`, redis);
    redis.disconnect();
  }
  const offered = (n * PER_TICK * 1000) / TICK_MS;
  const clientRate = (sioSent + wsSent - refused) / serverSecs;
  const counterRate = counted === undefined ? NaN : counted / serverSecs;
  const rate = Number.isFinite(counterRate) ? counterRate : clientRate;
  const br = (v: number) => v / base.secs;
  const l = lat.summary();
  const goals: Goal[] = [
    {
      goal: `presence ≥ 20,000 heartbeats/s (${n} clients)`,
      measured: `${Math.round(rate)}/s (client count ${Math.round(clientRate)}/s; offered ${Math.round(offered)}/s)`,
      met: rate >= 20_000,
    },
  ];
  return {
    name: "presence",
    tables: [
      {
        title: `Presence: ${n} clients (half Socket.IO, half raw ws) at the flood guard's allowance, ${rounds} × ${seconds} s, alternating with the baseline`,
        columns: ["side", "heartbeats/s", "p50 ms", "p99 ms", "max ms", "refused", "× pipelined SETEX", "× concurrent SETEX"],
        rows: [
          [`server (cluster counter city_heartbeats_total; offered ${Math.round(offered)}/s)`, Number.isFinite(counterRate) ? Math.round(counterRate) : "n/a", round(l.p50), round(l.p99), round(l.max), refused, ratio(counterRate, br(base.pipelined)), ratio(counterRate, br(base.concurrent))],
          ["server (client count: sent − refused)", Math.round(clientRate), "", "", "", "", ratio(clientRate, br(base.pipelined)), ratio(clientRate, br(base.concurrent))],
          ["baseline: ioredis SETEX awaited one at a time", Math.round(br(base.one)), "", "", "", "", "", ""],
          [`baseline: ioredis SETEX, ${n} concurrent callers`, Math.round(br(base.concurrent)), "", "", "", "", "", ""],
          ["baseline: ioredis SETEX, pipelines of 500", Math.round(br(base.pipelined)), "", "", "", "", "", ""],
        ],
        note: `Latency: the ack time of the one-in-20 Socket.IO heartbeats that ask for one. The heartbeat timer fell behind its 105 ms tick ${behind} times (the load generator shares the CPUs).`,
      },
    ],
    goals,
    raw: { n, offered, rate, counterRate, clientRate, acked, sioSent, wsSent, refused, base, latency: l, behind },
  };
}
