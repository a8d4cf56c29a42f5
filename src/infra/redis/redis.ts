// Redis connections, one per role: a subscriber or a blocked connection cannot serve commands,
// BullMQ's workers need maxRetriesPerRequest: null, and a request path must never wait for Redis.
//   commands  plain commands; each waits for at most one reconnect, so requests answer 503
//   pubsub    subscriber mode; waits out any outage and resubscribes by itself
//   bullmq    BullMQ workers, the job process's queues and other blocking reads (a stream): they
//             block, and must wait out outages
//   producer  the API's BullMQ queue (adding jobs): fails at once while Redis is away, as BullMQ
//             advises for producers ("failing fast when Redis is down": enableOfflineQueue off),
//             so POST /secondme/invoke answers 503 at once instead of hanging until Redis returns
import { Redis, type RedisOptions } from "ioredis";
import type { OutageLog } from "../outage-log.js";

export type { Redis };

export type RedisRole = "commands" | "pubsub" | "bullmq" | "producer";

export interface RedisConnectionOptions {
  /** Told when this connection loses its server and when it is back (one log line each per process). */
  readonly outage?: OutageLog;
}

/** How long a producer command may take before the caller gets 503: Redis answers in well under 1 ms. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2_000;

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  bullmq: { maxRetriesPerRequest: null, enableReadyCheck: false },
  pubsub: { maxRetriesPerRequest: null },
  // A command waits for at most one reconnect before failing, so requests answer 503 instead of
  // hanging while Redis is away.
  commands: { maxRetriesPerRequest: 1, commandTimeout: 5_000 },
  // Nothing is queued while disconnected, and a command in flight when the connection drops fails
  // at once (no retry); the timeout bounds a server that accepts but does not answer. It tries to
  // reconnect more often than the others: while it is down, callers are refused, not queued.
  producer: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * times, 500),
  },
};

export function createRedis(url: string, role: RedisRole, name = "city", opts: RedisConnectionOptions = {}): Redis {
  const connectionName = `${name}:${role}`;
  const redis = new Redis(url, {
    connectionName,
    connectTimeout: 5_000,
    // Reconnect forever with a capped backoff: Redis restarts must heal by themselves.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: false,
    ...ROLE_OPTIONS[role],
  });
  // Errors surface on commands; an unhandled 'error' event would only crash the process. An outage
  // is logged once per process by the outage log, never once per failed reconnect.
  redis.on("error", () => {});
  const outage = opts.outage;
  if (outage) {
    // 'reconnecting' follows every lost connection and failed attempt, never a close we asked for.
    redis.on("reconnecting", () => outage.connectionLost(connectionName));
    redis.on("ready", () => outage.connectionBack(connectionName));
  }
  return redis;
}

/** True when a producer connection can take a command now (else it would fail at once anyway). */
export const isReady = (redis: Redis) => redis.status === "ready";

/** Closes a connection without waiting on a server that may be gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 1_000))]);
  } catch {
    /* already closed */
  }
  redis.disconnect();
}
