// `POST /secondme/invoke` on the API side: enqueue a `secondme` job and wait for its outcome up
// to SECONDME_TIMEOUT_MS (CONTRACT §8). The wait is registered before the job is added, and the
// job enters its user's lane first, so one user's prompts run one at a time in the order sent.
// On timeout the caller gets 504, but the job goes on: the worker stores the reply and pushes it
// to the user's sockets (it learns the caller gave up from the reply channel's claim).
import type { Queue } from "bullmq";
import { AppError, ERRORS, type ErrorCode } from "../core/errors.js";
import { newId } from "../core/ids.js";
import type { Logger } from "../core/logger.js";
import type { ReplyWaiter } from "../infra/queue/reply-channel.js";
import { SECONDME_JOB_NAME, type SecondMeJobData, type SecondMeOutcome, type WireMessage } from "../infra/queue/secondme-job.js";
import type { UserLanes } from "../infra/queue/user-lanes.js";
import type { UserNotifier } from "./user-notifier.js";

export interface InvokeResult {
  readonly reply: string;
  readonly history: WireMessage[];
}

export interface SecondMeInvokerDeps {
  readonly queue: Queue<SecondMeJobData>;
  /** Built on the queue's own connection (see invoke). */
  readonly lanes: UserLanes;
  readonly waiter: ReplyWaiter;
  /** Also on the queue's own connection, so `queued` precedes anything the worker says. */
  readonly notifier: UserNotifier;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

const isCode = (c: string): c is ErrorCode => Object.hasOwn(ERRORS, c);

export function createSecondMeInvoker(deps: SecondMeInvokerDeps) {
  const log = deps.logger.child({ module: "secondme-invoker" });

  return {
    /** `reqId`: the HTTP request id, carried into the job and its log lines. */
    async invoke(userId: string, prompt: string, opts: { reqId?: string } = {}): Promise<InvokeResult> {
      const messageId = newId.secondmeMessage();
      const data: SecondMeJobData = {
        userId,
        prompt,
        messageId,
        replyId: newId.secondmeMessage(),
        replyTo: deps.waiter.channel,
        deadline: Date.now() + deps.timeoutMs,
        ...(opts.reqId ? { reqId: opts.reqId } : {}),
      };
      const pending = deps.waiter.wait<SecondMeOutcome>(messageId, deps.timeoutMs);
      // `queued` goes out first on the queue's connection, so it reaches the user's sockets before
      // the worker's `thinking` can (the worker only sees the job after this connection adds it).
      deps.notifier.notify(userId, "secondme.status", { request_id: messageId, state: "queued" }).catch(() => {});
      try {
        // One round trip, not two: the lane entry and the job go out on the same connection, the
        // entry first, and Redis applies a connection's commands in order, so no worker sees the
        // job before its lane entry.
        await Promise.all([deps.lanes.enter(userId, messageId), deps.queue.add(SECONDME_JOB_NAME, data, { jobId: messageId })]);
      } catch (err) {
        pending.cancel();
        // A lane entry without its job would hold the user's later prompts until the worker
        // finds it stale; take it back now if Redis lets us.
        await deps.lanes.leave(userId, messageId).catch(() => {});
        log.error({ err: (err as Error).message, requestId: messageId, reqId: opts.reqId }, "could not enqueue a Second Me job");
        const error = { code: "unavailable", message: "The Second Me queue is unavailable; try again shortly" };
        deps.notifier.notify(userId, "secondme.status", { request_id: messageId, state: "failed", error }).catch(() => {});
        throw new AppError("unavailable", error.message);
      }

      const res = await pending.result;
      if (res.kind === "timeout") {
        throw new AppError(
          "agent_timeout",
          `Second Me did not answer within ${Math.round(deps.timeoutMs / 100) / 10} s; the reply will be delivered to your open connections`,
          { requestId: messageId },
        );
      }
      const outcome = res.value;
      if (outcome.ok) return { reply: outcome.reply, history: outcome.history };
      const code = isCode(outcome.error.code) ? outcome.error.code : "agent_failed";
      const retryAfter = outcome.error.retryAfter;
      throw new AppError(code, outcome.error.message, retryAfter === undefined ? undefined : { retryAfter });
    },
  };
}

export type SecondMeInvoker = ReturnType<typeof createSecondMeInvoker>;
