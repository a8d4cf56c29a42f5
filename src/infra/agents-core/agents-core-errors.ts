// Typed failures of Agents Core. Each knows whether a retry may help (transport errors and 5xx)
// and which AppError the caller sees (CONTRACT §6: 502 failed, 504 timed out, 429 rate limited).
import { AppError, type ErrorCode } from "../../core/errors.js";

export abstract class AgentsCoreError extends Error {
  abstract readonly code: ErrorCode;
  /** True when the same request may succeed later (transport trouble, 5xx). */
  abstract readonly retryable: boolean;

  toAppError(): AppError {
    return new AppError(this.code, this.message);
  }
}

/** The agent answered, but not usefully: a 4xx/5xx, a body that is not JSON, or no reply text. */
export class AgentFailedError extends AgentsCoreError {
  override name = "AgentFailedError";
  readonly code = "agent_failed" as const;
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Agents Core could not be reached (connection refused, reset, DNS, NATS without responders). */
export class AgentUnreachableError extends AgentsCoreError {
  override name = "AgentUnreachableError";
  readonly code = "agent_failed" as const;
  readonly retryable = true;
}

/**
 * No answer within the per-request timeout (AGENTS_CORE_TIMEOUT_MS, by default SECONDME_TIMEOUT_MS).
 * Not retried: with the default the caller's own wait (counted from the enqueue, before the call
 * started) is spent by then, and a second slow call doubles the agent's load.
 */
export class AgentTimeoutError extends AgentsCoreError {
  override name = "AgentTimeoutError";
  readonly code = "agent_timeout" as const;
  readonly retryable = false;
}

/** The agent said 429. Passed on to the user as 429, never retried (that would add load). */
export class AgentRateLimitedError extends AgentsCoreError {
  override name = "AgentRateLimitedError";
  readonly code = "rate_limited" as const;
  readonly retryable = false;
  constructor(
    message: string,
    /** Seconds, from the agent's Retry-After, when it sent one. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  override toAppError(): AppError {
    return new AppError(this.code, this.message, this.retryAfter === undefined ? undefined : { retryAfter: this.retryAfter });
  }
}

/** Maps a wire status (HTTP, or a `status` field in a NATS reply) to the matching error. */
export function errorForStatus(status: number, retryAfter?: number): AgentsCoreError {
  if (status === 429) return new AgentRateLimitedError("The agent is rate limited; try again shortly", retryAfter);
  if (status >= 500) return new AgentFailedError(`Agents Core answered ${status}`, true, status);
  return new AgentFailedError(`Agents Core refused the request (${status})`, false, status);
}
