// The presence-expiry sweep as a BullMQ job scheduler. Each process that starts this upserts the
// same scheduler (idempotent) and runs a worker; BullMQ creates one job per interval, so exactly
// one sweep runs per interval however many processes there are. Overlapping sweeps would still be
// safe (each transition is taken once, atomically, in Lua), this only avoids wasted work.
// The sweep's scripts publish the offline transitions on the transitions channel themselves, in
// the same atomic step; the API workers' subscribers broadcast them. Nothing else to publish here.
import { Queue, Worker } from "bullmq";
import type { Config } from "../src/config/config.js";
import { isUnavailable } from "../src/core/errors.js";
import type { OutageLog } from "../src/infra/outage-log.js";
import { closeRedis, createRedis } from "../src/infra/redis/redis.js";
import { createPresenceService } from "../src/presence/presence-service.js";
import {
  PRESENCE_SWEEP_JOB_NAME,
  PRESENCE_SWEEP_QUEUE,
  PRESENCE_SWEEP_SCHEDULER_ID,
  type PresenceSweepJobResult,
} from "../src/presence/sweep-queue.js";

export interface PresenceSweepWorkerOptions {
  /** BullMQ key prefix; tests use their own so they never touch a running deployment's queue. @defaultValue config.queue.prefix (BULLMQ_PREFIX) */
  readonly prefix?: string;
  /** Called after each sweep this process ran (logging, metrics). */
  readonly onSweep?: (result: { offline: number; at: number }) => void;
  /**
   * Called when a sweep fails for another reason than Redis being away (BullMQ keeps the failed
   * job for the dashboard too).
   */
  readonly onError?: (err: unknown) => void;
  /**
   * The process's Redis outage log: told of the connections and of sweeps that failed because Redis
   * is away, so an outage is one line when it starts and one when it ends, not a line per retry.
   */
  readonly outage?: OutageLog;
}

export interface PresenceSweepWorker {
  close(): Promise<void>;
}

export async function startPresenceSweepWorker(
  config: Config,
  opts: PresenceSweepWorkerOptions = {},
): Promise<PresenceSweepWorker> {
  const prefix = opts.prefix ?? config.queue.prefix;
  const outage = opts.outage;
  const commands = createRedis(config.redisUrl, "commands", "city-presence-sweep", { outage });
  // BullMQ: its own connections, maxRetriesPerRequest null (the worker blocks on one of them).
  const queueConn = createRedis(config.redisUrl, "bullmq", "city-presence-sweep-queue", { outage });
  const workerConn = createRedis(config.redisUrl, "bullmq", "city-presence-sweep-worker", { outage });
  const failed = (err: unknown) => {
    if (outage && isUnavailable(err)) outage.failed("presence-sweep", err);
    else opts.onError?.(err);
  };
  const presence = createPresenceService({ redis: commands, config: config.presence });

  const queue = new Queue(PRESENCE_SWEEP_QUEUE, { connection: queueConn, prefix });
  const worker = new Worker<unknown, PresenceSweepJobResult>(
    PRESENCE_SWEEP_QUEUE,
    async () => {
      const result = { offline: (await presence.sweep()).offline.length };
      outage?.succeeded();
      opts.onSweep?.({ ...result, at: Date.now() });
      return result;
    },
    // One at a time per process: sweeps are idempotent, but parallel ones only compete.
    { connection: workerConn, prefix, concurrency: 1, autorun: true },
  );
  worker.on("failed", (_job, err) => failed(err));
  worker.on("error", failed);
  // Without a listener BullMQ prints each failed reconnect while Redis is away.
  queue.on("error", () => {});

  // Upserting with the configured interval also updates it after a config change.
  const upsertScheduler = () =>
    queue.upsertJobScheduler(
      PRESENCE_SWEEP_SCHEDULER_ID,
      { every: config.presence.sweepIntervalMs },
      {
        name: PRESENCE_SWEEP_JOB_NAME,
        // Sweep jobs are worthless once done: keep only a few for the dashboard.
        opts: { removeOnComplete: 10, removeOnFail: 50 },
      },
    );
  try {
    await upsertScheduler();
  } catch (err) {
    await Promise.allSettled([worker.close(), queue.close()]);
    await Promise.all([closeRedis(commands), closeRedis(queueConn), closeRedis(workerConn)]);
    throw err;
  }
  // Redis may come back empty (a restart without persistence, a failover to a fresh replica): the
  // scheduler would be gone with it and no sweep would ever run again. Upsert on every reconnect.
  queueConn.on("ready", () => void upsertScheduler().catch(failed));

  return {
    async close() {
      // The worker first: it finishes a running sweep before its connection goes.
      await worker.close();
      await queue.close();
      await presence.close();
      await Promise.all([closeRedis(commands), closeRedis(queueConn), closeRedis(workerConn)]);
    },
  };
}
