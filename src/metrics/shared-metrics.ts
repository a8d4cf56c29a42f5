// Cluster-wide facts that live in Redis rather than in any one process: users online, queue
// depth, job durations. The worker answering a scrape reads them once and appends them to the
// aggregated per-worker metrics (reading them in every worker would only repeat them N times).
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { Gauge, Registry } from "prom-client";
import { EXPIRY_KEY } from "../presence/index.js";
import { renderJobDurations } from "./job-durations.js";
import { METRIC_PREFIX } from "./worker-metrics.js";

/** Queue states worth watching; completed jobs are trimmed by age, so their count means little. */
const STATES = ["waiting", "active", "delayed", "prioritized", "failed"] as const;

export interface SharedMetricsDeps {
  /** A commands connection (not closed here). */
  readonly redis: Redis;
  readonly queues: readonly Queue[];
  /** BullMQ's key prefix (config.queue.prefix). */
  readonly bullPrefix: string;
}

export interface SharedMetrics {
  render(): Promise<string>;
}

export function createSharedMetrics(deps: SharedMetricsDeps): SharedMetrics {
  const registry = new Registry();
  new Gauge({
    name: `${METRIC_PREFIX}users_online`,
    help: "Users online in the whole city (members of the presence expiry index)",
    registers: [registry],
    async collect() {
      this.set(await deps.redis.zcard(EXPIRY_KEY));
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}queue_jobs`,
    help: "BullMQ jobs by queue and state (waiting, active, delayed, prioritized, failed)",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(deps.queues.map((q) => q.getJobCounts(...STATES)));
      deps.queues.forEach((q, i) => {
        for (const state of STATES) this.set({ queue: q.name, state }, counts[i]?.[state] ?? 0);
      });
    },
  });
  return {
    async render() {
      const [gauges, jobs] = await Promise.all([
        registry.metrics(),
        renderJobDurations(
          deps.redis,
          deps.bullPrefix,
          deps.queues.map((q) => q.name),
          `${METRIC_PREFIX}job_duration_seconds`,
        ),
      ]);
      return gauges + jobs;
    },
  };
}
