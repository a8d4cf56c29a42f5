// BullMQ Queue objects for the API process: the `secondme` queue it adds to, and one handle per
// listed queue for the dashboard. They share one connection that this factory never closes
// (the caller opened it).
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUE_NAMES, SECONDME_QUEUE } from "./queue-names.js";
import { secondMeJobOptions, type SecondMeJobData, type SecondMeJobOptions } from "./secondme-job.js";

export interface CityQueues {
  readonly secondme: Queue<SecondMeJobData>;
  /** Every queue of QUEUE_NAMES, for bull-board. */
  readonly all: readonly Queue[];
  close(): Promise<void>;
}

export interface CityQueuesOptions {
  /** A `producer`-role connection: adding a job fails at once while Redis is away. */
  readonly connection: Redis;
  /** BullMQ's key prefix (config.queue.prefix). */
  readonly prefix: string;
  readonly secondme: SecondMeJobOptions;
}

export function createQueues(opts: CityQueuesOptions): CityQueues {
  const secondme = new Queue<SecondMeJobData>(SECONDME_QUEUE, {
    connection: opts.connection,
    prefix: opts.prefix,
    defaultJobOptions: secondMeJobOptions(opts.secondme),
  });
  const all = QUEUE_NAMES.map((name) =>
    name === SECONDME_QUEUE ? (secondme as Queue) : new Queue(name, { connection: opts.connection, prefix: opts.prefix }),
  );
  // Connection errors surface on the calls that need Redis; with no listener BullMQ prints every
  // failed reconnect to stderr for as long as Redis is away.
  for (const q of all) q.on("error", () => {});
  return {
    secondme,
    all,
    async close() {
      await Promise.all(all.map((q) => q.close().catch(() => {})));
    },
  };
}
