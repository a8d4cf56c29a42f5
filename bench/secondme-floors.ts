// The costs an invoke cannot avoid on this machine, measured one at a time: a Redis round trip, a
// PostgreSQL commit (a turn makes two: the prompt before the agent is called, the reply after),
// and BullMQ's add-to-processor hand-off. bench/secondme.ts prints them beside its results.
import { Queue, Worker } from "bullmq";
import pg from "pg";
import { closeRedis, createRedis } from "../src/infra/redis/redis.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0";
const N = 300;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  return `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`;
}

async function timed(n: number, op: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function measureFloors(databaseUrl: string, prefix: string): Promise<string> {
  const redis = createRedis(REDIS_URL, "commands", "city-bench-floors");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const qConn = createRedis(REDIS_URL, "bullmq", "city-bench-floors-q");
  const wConn = createRedis(REDIS_URL, "bullmq", "city-bench-floors-w");
  const queue = new Queue("floors", { connection: qConn, prefix });
  let done = () => {};
  const worker = new Worker("floors", async () => done(), { connection: wConn, prefix, concurrency: 16 });
  try {
    await worker.waitUntilReady();
    const ping = await timed(N, () => redis.ping());
    const select = await timed(N, () => pool.query("SELECT 1"));
    // A real (WAL-logged, throw-away) table: a temporary one would skip the flush being measured.
    await pool.query("CREATE TABLE IF NOT EXISTS bench_floors (id serial PRIMARY KEY, v text)");
    const commit = await timed(N, () => pool.query("INSERT INTO bench_floors (v) VALUES ('x')"));
    await pool.query("DROP TABLE bench_floors");
    const handoff = await timed(N, async () => {
      const processed = new Promise<void>((r) => (done = r));
      await queue.add("x", {}, { removeOnComplete: true });
      await processed;
    });
    return [
      `- Redis round trip (PING): ${stats(ping)}`,
      `- PostgreSQL round trip (SELECT 1): ${stats(select)}`,
      `- PostgreSQL INSERT with its commit (WAL flush): ${stats(commit)}`,
      `- BullMQ add → processor start: ${stats(handoff)}`,
    ].join("\n");
  } finally {
    await worker.close();
    await queue.close();
    await pool.end();
    await Promise.all([closeRedis(redis), closeRedis(qConn), closeRedis(wConn)]);
  }
}
