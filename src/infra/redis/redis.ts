// Redis connections, one per role (commands, subscriber, blocking/BullMQ): a subscriber or a
// blocked connection cannot serve commands, and BullMQ needs maxRetriesPerRequest: null.
import { Redis, type RedisOptions } from "ioredis";

export type { Redis };

export type RedisRole = "commands" | "pubsub" | "bullmq";

export function createRedis(url: string, role: RedisRole, name = "city"): Redis {
  const base: RedisOptions = {
    connectionName: `${name}:${role}`,
    connectTimeout: 5_000,
    // Reconnect forever with a capped backoff: Redis restarts must heal by themselves.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: false,
  };
  const opts: RedisOptions =
    role === "bullmq"
      ? { ...base, maxRetriesPerRequest: null, enableReadyCheck: false }
      : role === "pubsub"
        ? { ...base, maxRetriesPerRequest: null }
        : // A command waits for at most one reconnect before failing, so requests answer 503
          // instead of hanging while Redis is away.
          { ...base, maxRetriesPerRequest: 1, commandTimeout: 5_000 };
  const redis = new Redis(url, opts);
  // Errors surface on commands; an unhandled 'error' event would only crash the process.
  redis.on("error", () => {});
  return redis;
}

/** Closes a connection without waiting on a server that may be gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 1_000))]);
  } catch {
    /* already closed */
  }
  redis.disconnect();
}
