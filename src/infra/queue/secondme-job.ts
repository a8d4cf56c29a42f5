// The `secondme` queue's job: its payload schema (checked by the worker), its options, and the
// outcome the worker hands back to the waiting API process (reply-channel.ts).
import { z } from "zod";
import type { DefaultJobOptions } from "bullmq";

export const SECONDME_JOB_NAME = "invoke";

export const secondMeJobData = z.object({
  userId: z.string().min(1).max(128),
  prompt: z.string().min(1).max(40_000),
  /** The prompt's message id; also the job id and the request id clients see. */
  messageId: z.string().regex(/^smmsg_[0-9A-Z]{26}$/),
  /** The reply's message id, minted up front so a re-run job never stores two replies. */
  replyId: z.string().regex(/^smmsg_[0-9A-Z]{26}$/),
  /** The API process's reply channel. */
  replyTo: z.string().min(1).max(256),
  /** When the caller stops waiting (epoch ms); the result is kept at least until then. */
  deadline: z.number().int().positive(),
  /** The HTTP request's X-Request-Id, so the job's log lines carry it (`reqId`). */
  reqId: z.string().max(128).optional(),
});

export type SecondMeJobData = z.infer<typeof secondMeJobData>;

/** One message as clients see it (CONTRACT §6 history shape). */
export interface WireMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
  readonly created_at: string;
}

export type SecondMeOutcome =
  | { readonly ok: true; readonly reply: string; readonly replyId: string; readonly createdAt: string; readonly history: WireMessage[] }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly retryAfter?: number } };

export interface SecondMeJobOptions {
  readonly attempts: number;
  readonly backoffMs: number;
}

/** Defaults of every `secondme` job (also those added from bull-board). */
export function secondMeJobOptions(o: SecondMeJobOptions): DefaultJobOptions {
  return {
    attempts: o.attempts,
    backoff: { type: "exponential", delay: o.backoffMs },
    // Kept a while for the dashboard; prompts are private, so not forever.
    removeOnComplete: { age: 3_600, count: 1_000 },
    removeOnFail: { age: 24 * 3_600, count: 5_000 },
  };
}
