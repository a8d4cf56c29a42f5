// Job durations, measured where jobs run (workers/, any number of processes on any machine) and
// exposed by the API's /metrics. The job processes have no HTTP port and no IPC to the API, so
// the histogram lives in Redis: one hash per queue, next to the queue's own BullMQ keys, with a
// counter per (outcome, bucket) plus count and sum. Every API process renders the same
// cluster-wide series from it.
import type { Redis } from "ioredis";

/** Seconds: a Second Me turn is an agent call, usually a few seconds, bounded by its timeout. */
export const JOB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120] as const;

export type JobOutcome = "completed" | "failed" | "retried";

/** `<bullmq prefix>:<queue>:city-job-seconds` (BullMQ's own keys never use that suffix). */
export const jobDurationsKey = (bullPrefix: string, queue: string) => `${bullPrefix}:${queue}:city-job-seconds`;

const bucketOf = (seconds: number) => JOB_BUCKETS.find((le) => seconds <= le) ?? "+Inf";

/** Adds one job run; best effort (a metrics write must never fail a job). */
export async function recordJobDuration(redis: Redis, key: string, outcome: JobOutcome, seconds: number): Promise<void> {
  await redis
    .multi()
    .hincrby(key, `${outcome}|${bucketOf(seconds)}`, 1)
    .hincrby(key, `${outcome}|count`, 1)
    .hincrbyfloat(key, `${outcome}|sum`, seconds)
    .exec();
}

/** Prometheus text for `city_job_duration_seconds` over the given queues (one HGETALL each). */
export async function renderJobDurations(redis: Redis, bullPrefix: string, queues: readonly string[], name = "city_job_duration_seconds"): Promise<string> {
  const lines = [`# HELP ${name} Job run time in the job workers (all processes), by queue and outcome`, `# TYPE ${name} histogram`];
  const hashes = await Promise.all(queues.map((q) => redis.hgetall(jobDurationsKey(bullPrefix, q))));
  queues.forEach((queue, i) => {
    const h = hashes[i] ?? {};
    const outcomes = new Set(Object.keys(h).map((f) => f.split("|")[0]!));
    for (const outcome of [...outcomes].sort()) {
      const labels = `queue="${queue}",outcome="${outcome}"`;
      let cumulative = 0;
      for (const le of [...JOB_BUCKETS, "+Inf"] as const) {
        cumulative += Number(h[`${outcome}|${le}`] ?? 0);
        lines.push(`${name}_bucket{le="${le}",${labels}} ${cumulative}`);
      }
      lines.push(`${name}_sum{${labels}} ${Number(h[`${outcome}|sum`] ?? 0)}`);
      lines.push(`${name}_count{${labels}} ${Number(h[`${outcome}|count`] ?? 0)}`);
    }
  });
  return lines.join("\n") + "\n";
}
