// `POST /secondme/invoke` on the API side: enqueue a `secondme` job and wait for its outcome up
// to SECONDME_TIMEOUT_MS (CONTRACT §8). The wait is registered before the job is added, and the
// job enters its user's lane first, so one user's prompts run one at a time in the order sent.
//
// Every call answers within SECONDME_TIMEOUT_MS + CLAIM_BOUND_MS whatever is down:
// - Redis away: the queue's connection is a producer one (src/infra/redis/redis.ts) that fails at
//   once, and the enqueue is bounded besides, so the caller gets 503 `unavailable` at once
//   (before, the add waited for Redis to come back: over 20 s while the rest of the API said 503);
// - the agent failing: the job's outcome, 502 (or 429 passed on); slow: 504 at the deadline. The
//   job goes on after a 504: its reply is stored and pushed to the user's sockets as
//   `secondme.reply`, by the worker or, when Redis decided the caller's process takes it
//   (reply-channel.ts), by this process.
// At most SECONDME_MAX_QUEUED_PER_USER prompts of one user wait or run; beyond, 429 at once and
// nothing is queued (CONTRACT §13).
import type { Queue } from "bullmq";
import { decodeTime } from "ulid";
import { AppError, ERRORS, isUnavailable, type ErrorCode } from "../core/errors.js";
import { newId } from "../core/ids.js";
import type { Logger } from "../core/logger.js";
import { patiently } from "../infra/patiently.js";
import { isStaleEntry } from "../infra/queue/lane-entries.js";
import type { ReplyWaiter } from "../infra/queue/reply-channel.js";
import { SECONDME_JOB_NAME, type SecondMeJobData, type SecondMeOutcome, type WireMessage } from "../infra/queue/secondme-job.js";
import type { UserLanes } from "../infra/queue/user-lanes.js";
import { isReady, type Redis } from "../infra/redis/redis.js";
import { replyPayload, type UserNotifier } from "./user-notifier.js";

export interface InvokeResult {
  readonly reply: string;
  readonly history: WireMessage[];
}

export interface SecondMeInvokerDeps {
  readonly queue: Queue<SecondMeJobData>;
  /** The queue's own connection, of the `producer` role: lanes and notifications use it too. */
  readonly producer: Redis;
  /** Built on the producer connection (see invoke). */
  readonly lanes: UserLanes;
  readonly waiter: ReplyWaiter;
  /** Also on the producer connection, so `queued` precedes anything the worker says. */
  readonly notifier: UserNotifier;
  readonly timeoutMs: number;
  /** Prompts of one user waiting or running at most (SECONDME_MAX_QUEUED_PER_USER). */
  readonly maxQueuedPerUser: number;
  readonly logger: Logger;
}

/** Longest the enqueue may take before the caller gets 503 (each producer command fails in 2 s). */
const ENQUEUE_BOUND_MS = 3_000;
/** How long a late reply's push keeps trying while Redis is away. */
const LATE_PUSH_PATIENCE_MS = 120_000;

const isCode = (c: string): c is ErrorCode => Object.hasOwn(ERRORS, c);
const unavailable = () => new AppError("unavailable", "The Second Me queue is unavailable; try again shortly");

export function createSecondMeInvoker(deps: SecondMeInvokerDeps) {
  const log = deps.logger.child({ module: "secondme-invoker" });

  /** Entries of a full lane that will never leave by themselves (their process died). */
  async function staleEntries(entries: readonly string[]): Promise<string[]> {
    const states = await Promise.all(entries.map((id) => deps.queue.getJobState(id)));
    return entries.filter((id, i) => isStaleEntry(id, states[i]!));
  }

  /** Takes a place in the user's lane; throws 429 when it is full of live prompts. */
  async function enterLane(userId: string, messageId: string): Promise<void> {
    let entry = await deps.lanes.enter(userId, messageId, deps.maxQueuedPerUser);
    if (entry.entered) return;
    const stale = await staleEntries(entry.entries);
    if (stale.length > 0) {
      for (const id of stale) await deps.lanes.leave(userId, id);
      entry = await deps.lanes.enter(userId, messageId, deps.maxQueuedPerUser);
      if (entry.entered) return;
    }
    // A place frees when the oldest prompt is done; its caller's wait is the best guess of when.
    const oldest = entry.entries[0];
    const since = oldest ? decodeTime(oldest.slice(oldest.lastIndexOf("_") + 1)) : Date.now();
    const retryAfter = Math.min(Math.ceil(deps.timeoutMs / 1000), Math.max(1, Math.ceil((since + deps.timeoutMs - Date.now()) / 1000)));
    throw new AppError("rate_limited", `At most ${deps.maxQueuedPerUser} prompts may wait for Second Me at once; try again in ${retryAfter} s`, { retryAfter });
  }

  return {
    /** `reqId`: the HTTP request id, carried into the job and its log lines. */
    async invoke(userId: string, prompt: string, opts: { reqId?: string } = {}): Promise<InvokeResult> {
      // Redis is away (or not yet reached): nothing below could succeed; say so at once.
      if (!isReady(deps.producer)) throw unavailable();
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
      const pending = deps.waiter.wait<SecondMeOutcome>(messageId, deps.timeoutMs, {
        // The caller left and the worker saw it too late to push the reply itself: this process does.
        onLate: (outcome) => {
          if (!outcome.ok) return; // a failure reaches the sockets as the worker's `failed` status
          // Redis just answered, but this connection may still be reconnecting: wait for it.
          patiently(() => deps.notifier.notify(userId, "secondme.reply", replyPayload(messageId, outcome)), LATE_PUSH_PATIENCE_MS).catch((err: unknown) =>
            log.warn({ err: (err as Error).message, requestId: messageId }, "could not push a late Second Me reply"),
          );
        },
      });

      let entered = false;
      const enqueue = (async () => {
        await enterLane(userId, messageId);
        entered = true;
        // Same connection, in order: `queued` reaches the user's sockets before the worker's
        // `thinking` can (the worker only sees the job after this connection adds it).
        deps.notifier.notify(userId, "secondme.status", { request_id: messageId, state: "queued" }).catch(() => {});
        await deps.queue.add(SECONDME_JOB_NAME, data, { jobId: messageId });
      })();
      let bound: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          enqueue,
          new Promise<never>((_, reject) => {
            bound = setTimeout(() => reject(new Error("Command timed out")), Math.min(ENQUEUE_BOUND_MS, deps.timeoutMs));
          }),
        ]);
      } catch (err) {
        const refused = err instanceof AppError;
        // Whether Redis ran the add is unknown after a timeout or a connection lost in flight;
        // a reply that still comes is then pushed to the user's sockets.
        pending.cancel(!refused && !/Stream isn't writeable/.test((err as Error).message));
        // A lane entry without its job would hold the user's later prompts until a worker finds
        // it stale: take it back once the enqueue has surely failed, if Redis lets us.
        enqueue.catch(() => (entered ? deps.lanes.leave(userId, messageId).catch(() => {}) : undefined));
        if (refused) throw err;
        if (!isUnavailable(err)) throw err;
        // Not logged per request: the producer connection's outage is logged once per process.
        const error = unavailable();
        // Sockets that heard `queued` hear how it ended (if Redis takes the message at all).
        if (entered) deps.notifier.notify(userId, "secondme.status", { request_id: messageId, state: "failed", error: { code: error.code, message: error.message } }).catch(() => {});
        throw error;
      } finally {
        clearTimeout(bound);
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
