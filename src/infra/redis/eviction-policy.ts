// BullMQ keeps its queues in Redis and requires `maxmemory-policy noeviction`: under any other
// policy a full Redis silently drops jobs (and presence keys). The server cannot change a managed
// Redis's policy, so it says so once at start-up in production (one API worker does). INFO is
// read rather than CONFIG GET, which managed services often disable.
import type { Logger } from "../../core/logger.js";
import { closeRedis, createRedis } from "./redis.js";

/** The maxmemory-policy line of INFO memory, or undefined when it cannot be read. */
export function evictionPolicy(info: string): string | undefined {
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

export async function warnIfRedisEvicts(redisUrl: string, logger: Logger): Promise<void> {
  const redis = createRedis(redisUrl, "commands", "city-policy-check");
  try {
    const policy = evictionPolicy(await redis.info("memory"));
    if (policy && policy !== "noeviction") {
      logger.warn({ policy }, `Redis maxmemory-policy is ${policy}: a full Redis would evict BullMQ's jobs and presence keys; set it to noeviction`);
    }
  } catch {
    // Redis away: readiness says so; the check is for a Redis that answers.
  } finally {
    await closeRedis(redis);
  }
}
