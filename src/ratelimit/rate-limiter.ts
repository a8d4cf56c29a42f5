// Rate limits held across workers and machines: token buckets in Redis (one Lua call per request,
// however many buckets it is charged to). Fails open: when Redis is away or slow the request is
// allowed, so a Redis outage never takes REST or the sockets down with it (the per-connection
// flood guard still holds sockets in check meanwhile).
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** One bucket's shape. A rate of 0 switches the bucket off. */
export interface RateRule {
  /** Tokens added per second (the sustained rate). */
  readonly ratePerSec: number;
  /** Tokens the bucket holds when full (the burst). */
  readonly burst: number;
}

/** A bucket to charge: what it limits (`scope`), for whom (`id`), and how. */
export interface RateCharge {
  readonly scope: string;
  readonly id: string;
  readonly rule: RateRule;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** When refused: milliseconds until the request would be allowed. */
  readonly retryAfterMs: number;
  /** When refused: the scope of the bucket that refused. */
  readonly scope?: string;
  /** True when Redis could not answer and the request was let through. */
  readonly failedOpen?: boolean;
}

export interface RateLimiter {
  /** Takes `cost` tokens from every bucket, or none when one of them is empty. */
  take(charges: readonly RateCharge[], cost?: number): Promise<RateDecision>;
}

export interface RateLimiterOptions {
  /** A commands connection; never closed here (the caller owns it). */
  readonly redis: Redis;
  /** Key prefix; keys are `{prefix}:{scope}:{id}`. @defaultValue "city:rl" */
  readonly prefix?: string;
  /** Longest wait for Redis before failing open. @defaultValue 250 */
  readonly timeoutMs?: number;
  /** Told when decisions start failing open (once, however many follow), with the first error. */
  readonly onFailOpen?: (err: unknown) => void;
  /** Told when Redis answers again after decisions failed open. */
  readonly onRecovered?: () => void;
  /** The buckets' clock in ms. @defaultValue Redis's own (TIME), one clock for every machine;
   *  tests pass theirs to step time exactly. */
  readonly clock?: () => number;
}

const ALLOW: RateDecision = { allowed: true, retryAfterMs: 0 };
const FAILED_OPEN: RateDecision = { allowed: true, retryAfterMs: 0, failedOpen: true };
const MAX_ID = 200;

let lua: string | undefined;
const script = () => (lua ??= readFileSync(new URL("./lua/take-n.lua", import.meta.url), "utf8"));

type TakeReply = [allowed: number, retryAfterMs: number, refusing: number, left: number];
type RateRedis = Redis & { cityRateLimitTake(numKeys: number, ...args: (string | number)[]): Promise<TakeReply> };

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const prefix = opts.prefix ?? "city:rl";
  const timeoutMs = opts.timeoutMs ?? 250;
  const redis = opts.redis as RateRedis;
  if (!("cityRateLimitTake" in opts.redis)) opts.redis.defineCommand("cityRateLimitTake", { lua: script() });
  // An outage is told once when it starts and once when it ends, never once per request.
  let failingOpen = false;
  const failOpen = (err: unknown): RateDecision => {
    if (!failingOpen) {
      failingOpen = true;
      opts.onFailOpen?.(err);
    }
    return FAILED_OPEN;
  };
  const answered = () => {
    if (!failingOpen) return;
    failingOpen = false;
    opts.onRecovered?.();
  };

  return {
    async take(charges, cost = 1) {
      const active = charges.filter((c) => c.rule.ratePerSec > 0 && c.rule.burst > 0 && c.id);
      if (active.length === 0) return ALLOW;
      // Not connected: do not queue behind the reconnect, let the request through at once.
      if (redis.status !== "ready") return failOpen(new Error(`redis is ${redis.status}`));
      const args: (string | number)[] = [];
      for (const c of active) args.push(`${prefix}:${c.scope}:${c.id.slice(0, MAX_ID)}`);
      args.push(cost, opts.clock ? Math.floor(opts.clock()) : "");
      for (const c of active) args.push(1000 / c.rule.ratePerSec, c.rule.burst);
      let timer: NodeJS.Timeout | undefined;
      try {
        const reply = await Promise.race([
          redis.cityRateLimitTake(active.length, ...args),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`rate limiter: no answer from redis in ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        answered();
        const [allowed, retryAfterMs, refusing] = reply;
        if (allowed === 1) return ALLOW;
        return { allowed: false, retryAfterMs: Math.max(1, Number(retryAfterMs)), scope: active[refusing - 1]?.scope };
      } catch (err) {
        return failOpen(err);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Whole seconds to tell a client to wait (Retry-After is in whole seconds, at least 1). */
export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
