// Helpers for the operations tests: reading Prometheus text, and cleaning a run's BullMQ keys.

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

export { parseMetrics, scrape, total, type Sample } from "../support/metrics.js";
export { dropKeys } from "../support/redis-keys.js";
