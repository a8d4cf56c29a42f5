// Benchmark: heartbeats/s through the presence service's batched heartbeat with many concurrent
// callers, beside plain ioredis SETEX from one Node client (awaited one by one, concurrent without
// a pipeline, pipelined) and redis-benchmark's own SETEX rate, all in the same run.
//   node --import tsx bench/presence-store.ts [seconds per case, default 5] [callers, default 10000]
// Uses its own ids and deletes every key it made. Prints a markdown table.
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { Redis } from "ioredis";
import { closeRedis, createRedis } from "../src/infra/redis/redis.js";
import { createPresenceService } from "../src/presence/index.js";
import { presenceKeys } from "../src/presence/keys.js";

const URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const SECONDS = Number(process.argv[2] ?? 5);
const CALLERS = Number(process.argv[3] ?? 10_000);
const run = `bench_${Math.random().toString(36).slice(2, 8)}`;
const users = Array.from({ length: CALLERS }, (_, i) => `u_${run}_${i}`);
const rows: { name: string; perSec: number; note: string }[] = [];

/** Runs `callers` loops of `op` for SECONDS and returns operations per second. */
async function measure(callers: number, op: (i: number) => Promise<unknown>, perOp = 1): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const loop = async (i: number) => {
    while (performance.now() < end) {
      await op(i);
      done += perOp;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: callers }, (_, i) => loop(i)));
  return done / ((performance.now() - t0) / 1000);
}

async function cleanup(redis: Redis): Promise<void> {
  for (let i = 0; i < users.length; i += 1000) {
    const chunk = users.slice(i, i + 1000);
    await redis
      .pipeline()
      .del(...chunk.map(presenceKeys.user))
      .zrem("city:presence:expiry", ...chunk)
      .hdel("city:presence:last_seen", ...chunk)
      .exec();
  }
  const rnd = Array.from({ length: 10_000 }, (_, i) => `presence:user:rb_${run}_${String(i).padStart(12, "0")}`);
  for (let i = 0; i < rnd.length; i += 1000) await redis.del(...rnd.slice(i, i + 1000));
}

function redisBenchmark(pipeline: number): number | undefined {
  try {
    const out = execFileSync(
      "redis-benchmark",
      ["-q", "-c", "50", "-P", String(pipeline), "-n", String(200_000 * pipeline ** 0.5), "-r", "10000", "SETEX", `presence:user:rb_${run}___rand_int__`, "40", "online"],
      { encoding: "utf8", timeout: 120_000 },
    );
    const m = /([\d.]+) requests per second/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  const redis = createRedis(URL, "commands", "city-bench");
  try {
    const rb = redisBenchmark(1);
    if (rb) rows.push({ name: "redis-benchmark SETEX", perSec: rb, note: "50 connections, no pipelining (Redis's own rate)" });
    const rbp = redisBenchmark(16);
    if (rbp) rows.push({ name: "redis-benchmark SETEX, pipelined", perSec: rbp, note: "50 connections, 16 commands per pipeline" });

    const one = await measure(1, (i) => redis.setex(presenceKeys.user(users[i]!), 40, "online"));
    rows.push({ name: "ioredis SETEX, awaited one by one", perSec: one, note: "1 caller: a round trip each" });

    const conc = await measure(CALLERS, (i) => redis.setex(presenceKeys.user(users[i]!), 40, "online"));
    rows.push({ name: "ioredis SETEX, concurrent, no pipeline", perSec: conc, note: `${fmt(CALLERS)} callers, one write per command` });

    const batch = 1000;
    const piped = await measure(
      8,
      async (c) => {
        const p = redis.pipeline();
        for (let k = 0; k < batch; k++) p.setex(presenceKeys.user(users[(c * batch + k) % users.length]!), 40, "online");
        await p.exec();
      },
      batch,
    );
    rows.push({ name: "ioredis SETEX, pipelined", perSec: piped, note: `8 pipelines of ${batch} in flight` });
    await cleanup(redis);

    const presence = createPresenceService({
      redis,
      config: { ttlSeconds: 40, sweepIntervalMs: 10_000, graceMs: 5_000, allowAnonymous: false },
    });
    await measure(CALLERS, (i) => presence.heartbeat(users[i]!)); // warm-up: first heartbeats are transitions
    const before = presence.stats();
    const hb = await measure(CALLERS, (i) => presence.heartbeat(users[i]!));
    const after = presence.stats();
    const perBatch = (after.heartbeats - before.heartbeats) / Math.max(1, after.heartbeatBatches - before.heartbeatBatches);
    rows.push({
      name: "PresenceService.heartbeat (batched)",
      perSec: hb,
      note: `${fmt(CALLERS)} callers; ${perBatch.toFixed(0)} heartbeats per script call; SETEX + index + last_seen each`,
    });
    await presence.close();
    await cleanup(redis);
  } finally {
    await cleanup(redis).catch(() => {});
    await closeRedis(redis);
  }

  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(`Presence store benchmark — ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, ${SECONDS}s per case, load average before end: ${load}\n`);
  console.log("| case | ops/s | notes |\n| --- | ---: | --- |");
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.perSec)} | ${r.note} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
