// The city's rate limits as the configuration asks for them, on a Redis commands connection: the
// one way every process that admits posts (API workers, the job process posting agents' replies)
// builds them, so an author meets the same buckets whichever process stores its message.
import type { Redis } from "ioredis";
import type { Config } from "../config/config.js";
import type { OutageLog } from "../infra/outage-log.js";
import { createRateLimiter } from "./rate-limiter.js";
import { createRateLimits, type RateLimits } from "./rate-limits.js";

/** Undefined when RATE_LIMIT_ENABLED=false. They fail open while Redis is away. */
export function rateLimitsFromConfig(config: Config, redis: Redis, redisOutage: OutageLog): RateLimits | undefined {
  if (!config.rateLimit.enabled) return undefined;
  const limiter = createRateLimiter({
    redis,
    prefix: config.rateLimit.prefix,
    // While Redis is away every request is let through: part of the outage, logged with it.
    onFailOpen: (err) => redisOutage.failed("rate-limiter (failing open)", err),
    onRecovered: () => redisOutage.succeeded(),
  });
  return createRateLimits(limiter, config.rateLimit);
}
