// The `secondme` job: wait for the user's turn, run the turn, hand the outcome to the waiting API
// process, and keep the user's sockets informed. Retries: transport trouble and 5xx from the agent
// (and a database or Redis that is briefly away) are retried by BullMQ with backoff; everything
// else fails at once. On the last failure the outcome says why, so the caller gets 502/504/429.
import { UnrecoverableError, type Job, type Processor } from "bullmq";
import type { Redis } from "ioredis";
import { isUnavailable, toAppError } from "../src/core/errors.js";
import type { Logger } from "../src/core/logger.js";
import { AgentsCoreError } from "../src/infra/agents-core/agents-core-errors.js";
import { patiently as retryWhileAway } from "../src/infra/patiently.js";
import { publishReply, type Delivery } from "../src/infra/queue/reply-channel.js";
import { secondMeJobData, type SecondMeJobData, type SecondMeOutcome } from "../src/infra/queue/secondme-job.js";
import type { SecondMeTurn } from "../src/secondme/secondme-turn.js";
import { toWire } from "../src/secondme/shapes.js";
import { replyPayload, type UserNotifier } from "../src/secondme/user-notifier.js";
import { jobDurationsKey, recordJobDuration, type JobOutcome } from "../src/metrics/job-durations.js";
import type { LaneGate } from "./secondme-lane-gate.js";

export interface SecondMeJobResult {
  readonly reply_id: string;
  /** True when the caller had stopped waiting and the reply went to the user's sockets. */
  readonly late: boolean;
}

export interface SecondMeProcessorDeps {
  readonly turn: SecondMeTurn;
  readonly gate: LaneGate;
  readonly notifier: UserNotifier;
  /** Commands connection for the reply channel. */
  readonly redis: Redis;
  readonly logger: Logger;
}

/** The result is kept until the caller's deadline and a minute more (a lost message is found). */
const RESULT_GRACE_MS = 60_000;
/** How long a finished turn keeps trying to hand its outcome over while Redis is away (a blip must not lose a reply). */
const DELIVERY_PATIENCE_MS = 120_000;
const patiently = <T>(attempt: () => Promise<T>) => retryWhileAway(attempt, DELIVERY_PATIENCE_MS);

export function createSecondMeProcessor(deps: SecondMeProcessorDeps): Processor<SecondMeJobData, SecondMeJobResult> {
  const jobLog = deps.logger.child({ module: "secondme-job" });
  // Notifications are best effort: a lost status must never fail or slow the turn.
  const quietly = (p: Promise<void>) => void p.catch((err: unknown) => jobLog.warn({ err: (err as Error).message }, "notify failed"));

  const deliver = (job: Job<SecondMeJobData>, token: string | undefined, d: SecondMeJobData, value: SecondMeOutcome): Promise<Delivery> =>
    patiently(() =>
      publishReply(deps.redis, {
        jobId: job.id!,
        replyTo: d.replyTo,
        value,
        keepMs: d.deadline - Date.now() + RESULT_GRACE_MS,
        lockKey: `${job.prefix}:${job.queueName}:${job.id}:lock`,
        token: token ?? "",
      }),
    );

  return async (job, token) => {
    const parsed = secondMeJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError("secondme job data is invalid");
    const d = parsed.data;
    // Every line of this job carries the HTTP request id it came from (X-Request-Id).
    const log = jobLog.child({ reqId: d.reqId, jobId: job.id });
    const started = Date.now();
    const measure = (outcome: JobOutcome) => {
      const ms = Date.now() - started;
      recordJobDuration(deps.redis, jobDurationsKey(job.prefix, job.queueName), outcome, ms / 1000).catch(() => {});
      return ms;
    };
    await deps.gate.enter(job, token, d.userId);
    quietly(deps.notifier.notify(d.userId, "secondme.status", { request_id: d.messageId, state: "thinking" }));

    try {
      const { reply, history } = await deps.turn.run(d);
      // Counted before the caller hears of it, so a scrape right after the answer includes this turn.
      const ms = measure("completed");
      const outcome = { ok: true as const, reply: reply.content, replyId: reply.id, createdAt: reply.createdAt.toISOString(), history: history.map(toWire) };
      // Leave the lane and answer in one round trip: both go out on the same connection, the
      // leave first, so a follow-up the user sends on seeing this reply finds the lane free.
      const [, delivery] = await Promise.all([patiently(() => deps.gate.leave(d.userId, job.id!)), deliver(job, token, d, outcome)]);
      const late = delivery === "worker";
      // The user hears this reply from nobody else: wait out a Redis blip rather than drop it.
      if (late) quietly(patiently(() => deps.notifier.notify(d.userId, "secondme.reply", replyPayload(d.messageId, outcome))));
      quietly(deps.notifier.notify(d.userId, "secondme.status", { request_id: d.messageId, state: "done" }));
      log.info({ requestId: d.messageId, ms, late, attempt: job.attemptsMade + 1 }, "Second Me job done");
      return { reply_id: reply.id, late };
    } catch (err) {
      const retryable = err instanceof AgentsCoreError ? err.retryable : isUnavailable(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (retryable && !lastAttempt) {
        measure("retried");
        log.warn({ requestId: d.messageId, attempt: job.attemptsMade + 1, err: (err as Error).message }, "Second Me attempt failed; retrying");
        throw err;
      }
      const appErr = err instanceof AgentsCoreError ? err.toAppError() : toAppError(err);
      if (appErr.code === "internal") log.error({ err, requestId: d.messageId }, "Second Me job failed");
      else log.warn({ requestId: d.messageId, code: appErr.code, err: (err as Error).message }, "Second Me job failed");
      await patiently(() => deps.gate.leave(d.userId, job.id!));
      measure("failed");
      const retryAfter = appErr.details?.retryAfter;
      const error = { code: appErr.code, message: appErr.message, ...(typeof retryAfter === "number" ? { retryAfter } : {}) };
      await deliver(job, token, d, { ok: false, error });
      quietly(deps.notifier.notify(d.userId, "secondme.status", { request_id: d.messageId, state: "failed", error: { code: error.code, message: error.message } }));
      // Unrecoverable: BullMQ must not run it again, whatever attempts remain.
      throw new UnrecoverableError(appErr.message);
    }
  };
}
