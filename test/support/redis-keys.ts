// Deletes a run's own Redis keys (its BullMQ prefix, its rate-limit prefix) when it is done, so
// runs on the shared Redis leave nothing behind. SCAN, never KEYS: the Redis is shared.
import { closeRedis, createRedis, type Redis } from "../../src/infra/redis/redis.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/** Deletes every key matching `pattern`, on `redis` if given, else on a connection of its own. */
export async function dropKeys(pattern: string, redis?: Redis): Promise<void> {
  const conn = redis ?? createRedis(REDIS_URL, "commands", "city-test-cleanup");
  try {
    let cursor = "0";
    do {
      const [next, keys] = await conn.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) await conn.del(...keys);
    } while (cursor !== "0");
  } finally {
    if (!redis) await closeRedis(conn);
  }
}
