// The `secondme` queue's worker process part: runs Second Me turns against Agents Core. Any number
// of these may run (on any machine); the queue's global concurrency bounds the agent's load, and
// the user lanes keep each user's prompts one at a time, in order.
import { Queue, Worker } from "bullmq";
import type { Config } from "../src/config/config.js";
import { isUnavailable } from "../src/core/errors.js";
import { createLogger, type Logger } from "../src/core/logger.js";
import type { AgentsCore } from "../src/infra/agents-core/agents-core.js";
import { createAgentsCore } from "../src/infra/agents-core/create-agents-core.js";
import { createDatabase } from "../src/infra/db/database.js";
import { SECONDME_QUEUE } from "../src/infra/queue/queue-names.js";
import type { SecondMeJobData } from "../src/infra/queue/secondme-job.js";
import { createUserLanes } from "../src/infra/queue/user-lanes.js";
import { createOutageLog, type OutageLog } from "../src/infra/outage-log.js";
import { closeRedis, createRedis } from "../src/infra/redis/redis.js";
import { createSecondMeRepo } from "../src/secondme/secondme-repo.js";
import { createSecondMeTurn } from "../src/secondme/secondme-turn.js";
import { createRedisUserNotifier } from "../src/secondme/user-notifier.js";
import { createLaneGate, queueLaneJobs } from "./secondme-lane-gate.js";
import { createSecondMeProcessor, type SecondMeJobResult } from "./secondme-processor.js";

export interface SecondMeWorkerDeps {
  readonly logger?: Logger;
  /** Used instead of the Agents Core that config names; not closed by the worker. */
  readonly agents?: AgentsCore;
  /** The process's Redis outage log (one line per outage for the whole process). @defaultValue one of its own */
  readonly redisOutage?: OutageLog;
  /**
   * BullMQ's job lock: a job whose process died is handed to another worker once its lock expired,
   * found by the stalled-job check. @defaultValue 15 s and a check every 5 s
   */
  readonly lock?: { readonly durationMs: number; readonly stalledIntervalMs: number };
}

// BullMQ's defaults are 30 s and 30 s: a turn whose job process was killed mid-call would wait up
// to a minute to run again (and the user's later prompts with it). The lock is renewed every half
// duration, so only a process stalled for 15 s loses a job it still runs.
const LOCK = { durationMs: 15_000, stalledIntervalMs: 5_000 };

export interface SecondMeWorker {
  close(): Promise<void>;
}

export async function startSecondMeWorker(config: Config, deps: SecondMeWorkerDeps = {}): Promise<SecondMeWorker> {
  if (!config.databaseUrl) throw new Error("the Second Me worker needs DATABASE_URL");
  const logger = (deps.logger ?? createLogger(config.logLevel, { role: "worker" })).child({ module: "secondme-worker" });
  const prefix = config.queue.prefix;
  const concurrency = config.secondme.concurrency;

  const db = createDatabase(config.databaseUrl, { poolSize: Math.min(concurrency + 2, 32), applicationName: "city-secondme-worker" });
  const outage = deps.redisOutage ?? createOutageLog(logger, "redis");
  const commands = createRedis(config.redisUrl, "commands", "city-secondme", { outage });
  const queueConn = createRedis(config.redisUrl, "bullmq", "city-secondme-queue", { outage });
  const workerConn = createRedis(config.redisUrl, "bullmq", "city-secondme-worker", { outage });
  /** Redis being away is the outage log's to tell, once; anything else is a bug worth a line each time. */
  const trouble = (what: string) => (err: Error) => (isUnavailable(err) ? outage.failed(what, err) : logger.error({ err: err.message }, what));
  const agents = deps.agents ?? createAgentsCore(config.agents);

  const queue = new Queue<SecondMeJobData>(SECONDME_QUEUE, { connection: queueConn, prefix });
  // Without a listener BullMQ prints each failed reconnect while Redis is away.
  queue.on("error", () => {});
  const processor = createSecondMeProcessor({
    turn: createSecondMeTurn({ repo: createSecondMeRepo(db), agents, agentId: config.secondme.agentId }),
    gate: createLaneGate(createUserLanes(commands), queueLaneJobs(queue)),
    notifier: createRedisUserNotifier(commands),
    redis: commands,
    logger,
  });

  try {
    // Bounds the jobs running at once across every worker process, not just this one.
    await queue.setGlobalConcurrency(concurrency);
  } catch (err) {
    await release();
    throw err;
  }
  // A Redis that comes back empty forgot the bound: set it again on every reconnect.
  queueConn.on("ready", () => void queue.setGlobalConcurrency(concurrency).catch(trouble("could not restore the global concurrency")));
  const lock = deps.lock ?? LOCK;
  const worker = new Worker<SecondMeJobData, SecondMeJobResult>(SECONDME_QUEUE, processor, {
    connection: workerConn,
    prefix,
    concurrency,
    lockDuration: lock.durationMs,
    stalledInterval: lock.stalledIntervalMs,
    autorun: true,
  });
  // A job whose record Redis lost (a restart without its data) cannot be finished by BullMQ; its
  // turn ran and was delivered all the same. Said once per job, not once per BullMQ step.
  const lost = new Set<string>();
  const workerError = trouble("secondme worker error");
  worker.on("error", (err) => {
    const jobId = /^Missing (?:key|lock) for job (\S+?)\.? /.exec(err.message)?.[1];
    if (!jobId) return workerError(err);
    if (lost.has(jobId)) return;
    if (lost.size > 1_000) lost.clear();
    lost.add(jobId);
    logger.warn({ jobId }, "a Second Me job's record is gone from Redis (restarted without its data?); its turn ran, BullMQ cannot finish it");
  });
  try {
    await worker.waitUntilReady();
  } catch (err) {
    await worker.close().catch(() => {});
    await release();
    throw err;
  }
  logger.info({ concurrency, transport: config.agents.transport }, "Second Me worker started");

  async function release(): Promise<void> {
    await queue.close().catch(() => {});
    if (!deps.agents) await agents.close().catch(() => {});
    await Promise.all([db.close(), closeRedis(commands), closeRedis(queueConn), closeRedis(workerConn)]);
  }

  return {
    async close() {
      // Lets running turns finish (their replies get stored and delivered), takes no new ones.
      await worker.close();
      await release();
    },
  };
}
