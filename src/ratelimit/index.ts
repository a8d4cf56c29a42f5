// Rate limiting: Redis token buckets shared by every worker (rate-limiter.ts) and the city's
// rules for REST writes and socket messages (rate-limits.ts).
export { createRateLimiter, retryAfterSeconds, type RateLimiter, type RateRule, type RateCharge, type RateDecision } from "./rate-limiter.js";
export { createRateLimits, rateLimitedError, SCOPES, type RateLimits, type RateLimitRules } from "./rate-limits.js";
export { rateLimitsFromConfig } from "./from-config.js";
