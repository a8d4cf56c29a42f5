// The city's rate limits (CONTRACT §6 429): which buckets a REST write is charged to, and the
// per-author message rule the rooms service applies to every post (REST, Socket.IO, raw ws, an
// agent's reply alike), so switching transport or worker never buys more.
import type { Context, Next } from "koa";
import { actorId, type Identity } from "../auth/identity.js";
import type { AuthState } from "../auth/koa-auth.js";
import { AppError } from "../core/errors.js";
import { retryAfterSeconds, type RateCharge, type RateDecision, type RateLimiter, type RateRule } from "./rate-limiter.js";

export interface RateLimitRules {
  /** Per author: room message posts (REST, Socket.IO, raw ws together). */
  readonly messages: RateRule;
  /** Per user or agent: every REST write. */
  readonly userWrites: RateRule;
  /** Per client IP: every REST write, with or without a token. */
  readonly ipWrites: RateRule;
}

export const SCOPES = { messages: "msg", userWrites: "write", ipWrites: "ip" } as const;

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function rateLimitedError(d: RateDecision): AppError {
  const s = retryAfterSeconds(d.retryAfterMs);
  return new AppError("rate_limited", `Too many requests; try again in ${s} s`, { retryAfter: s });
}

export interface RateLimits {
  /** Koa middleware, mounted after authentication: charges every write to its buckets. */
  rest(ctx: Context, next: Next): Promise<void>;
  /** The rooms service's admission of a post (PostAdmission): `rate_limited` when its author
   *  may not post another room message now. */
  readonly messages: { admit(who: Identity): Promise<void> };
}

export function createRateLimits(limiter: RateLimiter, rules: RateLimitRules): RateLimits {
  return {
    async rest(ctx, next) {
      if (!WRITES.has(ctx.method)) return next();
      const charges: RateCharge[] = [{ scope: SCOPES.ipWrites, id: ctx.ip || "unknown", rule: rules.ipWrites }];
      const who = (ctx.state as AuthState).identity;
      if (who) charges.push({ scope: SCOPES.userWrites, id: actorId(who), rule: rules.userWrites });
      const d = await limiter.take(charges);
      if (!d.allowed) throw rateLimitedError(d);
      await next();
    },
    messages: {
      async admit(who) {
        const d = await limiter.take([{ scope: SCOPES.messages, id: actorId(who), rule: rules.messages }]);
        if (!d.allowed) throw rateLimitedError(d);
      },
    },
  };
}
