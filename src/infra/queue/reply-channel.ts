// Request/response over BullMQ without QueueEvents: each API process subscribes once to its own
// reply channel; a job carries that channel (`replyTo`), and the worker publishes the outcome
// there and also stores it under the job id for a while. A wait is registered before the job is
// added, so no reply can come too early; a message lost in a reconnect is found in the stored
// result at reconnect or at the deadline.
//
// Who tells the user about a reply that comes after the caller stopped waiting: exactly one of
// the worker and this process, decided in Redis. At the deadline the caller claims the result
// (claim-reply-2.lua) atomically against the worker's publish (publish-reply-3.lua): either the
// claim finds the result (the caller answers with it), or it marks the request abandoned and the
// worker, seeing the mark, pushes the reply to the user's sockets itself. The worker writes its
// decision into the message (first character "1": the worker delivers it). When the claim cannot
// be made in time (Redis away at the deadline) the caller still answers "timeout" at once, and
// this process keeps the request as "left": it retries the claim until Redis answers, and a reply
// that turns up while the worker did not take delivery on itself goes to `onLate`. Before, a
// failed claim left no mark, the worker saw a live caller, and the late reply reached nobody.
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { defineQueueCommands, type QueueRedis } from "./queue-scripts.js";

export type WaitResult<T> = { readonly kind: "reply"; readonly value: T } | { readonly kind: "timeout" };

export interface PendingReply<T> {
  readonly result: Promise<WaitResult<T>>;
  /**
   * Stops waiting because the job could not be added. `maybeAdded`: the failure leaves it open
   * whether Redis ran the add (a connection lost in flight, a command timeout); a reply that still
   * comes then goes to `onLate` for a while. Nothing is claimed.
   */
  cancel(maybeAdded: boolean): void;
}

export interface WaitOptions<T> {
  /**
   * Called at most once, with a reply that arrived after the caller was answered "timeout" (or the
   * wait was cancelled) and that the worker will not deliver to the user itself.
   */
  readonly onLate?: (value: T) => void;
}

export interface ReplyWaiter {
  /** This process's reply channel: put it in the job's data. */
  readonly channel: string;
  /** Registers a wait for `jobId`. Call it BEFORE adding the job. */
  wait<T>(jobId: string, timeoutMs: number, opts?: WaitOptions<T>): PendingReply<T>;
  /** Requests this process still answers for after their callers left (claims pending, or a cancelled add). */
  readonly leftCount: number;
  /** Ends every pending wait with a timeout, forgets left requests, and unsubscribes. */
  close(): Promise<void>;
}

export interface ReplyKeys {
  result(jobId: string): string;
  abandoned(jobId: string): string;
}

export const replyKeys = (ns = "city:secondme"): ReplyKeys => ({
  result: (jobId) => `${ns}:result:${jobId}`,
  abandoned: (jobId) => `${ns}:abandoned:${jobId}`,
});

/** How long an abandoned mark lives: long enough for a job parked behind others and retried. */
const ABANDONED_TTL_MS = 24 * 3_600_000;
/** How long the deadline claim may take before the caller is answered anyway (then it is retried). */
export const CLAIM_BOUND_MS = 500;
/** Between claim retries while Redis is away. */
const CLAIM_RETRY_MS = 1_000;
/** How long a cancelled add that may have happened after all still gets its reply pushed. */
const MAYBE_ADDED_TTL_MS = 10 * 60_000;
/** First character of a reply message: the worker delivers it to the user itself. */
const WORKER_DELIVERS = "1";

interface Envelope {
  jobId: string;
  value: unknown;
}

/** A reply message: the worker's decision flag, then the JSON envelope. */
function parseMessage(message: string): { workerDelivers: boolean; env: Envelope } | undefined {
  try {
    const env = JSON.parse(message.slice(1)) as Envelope;
    return typeof env?.jobId === "string" ? { workerDelivers: message[0] === WORKER_DELIVERS, env } : undefined;
  } catch {
    return undefined;
  }
}

interface Entry {
  /** "waiting": the caller waits; "left": the caller was answered, a late reply may still be ours. */
  state: "waiting" | "left";
  /** Resolves the caller's promise (once). */
  answer(res: WaitResult<unknown>): void;
  onLate?: (value: unknown) => void;
  timer?: NodeJS.Timeout;
}

export interface ReplyWaiterOptions {
  /** Runs scripts and GETs. */
  readonly redis: Redis;
  /** A connection in subscriber mode, used for nothing else by this waiter. */
  readonly subscriber: Redis;
  /** @defaultValue `city:secondme` */
  readonly namespace?: string;
}

export async function createReplyWaiter(opts: ReplyWaiterOptions): Promise<ReplyWaiter> {
  const ns = opts.namespace ?? "city:secondme";
  const keys = replyKeys(ns);
  const r: QueueRedis = defineQueueCommands(opts.redis);
  const channel = `${ns}:reply:${os.hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const entries = new Map<string, Entry>();
  let closed = false;

  const forget = (jobId: string, e: Entry) => {
    clearTimeout(e.timer);
    if (entries.get(jobId) === e) entries.delete(jobId);
  };

  /** A reply reached this process (message, stored result at reconnect, or the claim). */
  const deliver = (jobId: string, workerDelivers: boolean, value: unknown) => {
    const e = entries.get(jobId);
    if (!e) return;
    forget(jobId, e);
    if (e.state === "waiting") e.answer({ kind: "reply", value });
    else if (!workerDelivers) e.onLate?.(value);
  };

  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    const m = parseMessage(message);
    if (m) deliver(m.env.jobId, m.workerDelivers, m.env.value);
  };

  /** The caller gets "timeout" now; the request stays ours until a claim settles who delivers. */
  const leave = (jobId: string, e: Entry) => {
    if (e.state === "left") return;
    e.state = "left";
    e.answer({ kind: "timeout" });
  };

  /** Claims the result or marks the request abandoned; retried while Redis does not answer. */
  const claim = (jobId: string, e: Entry) => {
    if (closed || entries.get(jobId) !== e) return;
    const bound = e.state === "waiting" ? setTimeout(() => leave(jobId, e), CLAIM_BOUND_MS) : undefined;
    r.cityQueueClaimReply(keys.result(jobId), keys.abandoned(jobId), ABANDONED_TTL_MS)
      .then((message) => {
        if (entries.get(jobId) !== e) return;
        const m = message ? parseMessage(message) : undefined;
        if (m) return deliver(jobId, m.workerDelivers, m.env.value);
        // Marked abandoned (now or by an earlier claim whose answer was lost): the worker delivers.
        forget(jobId, e);
        leave(jobId, e);
      })
      .catch(() => {
        if (entries.get(jobId) !== e) return;
        leave(jobId, e);
        e.timer = setTimeout(() => claim(jobId, e), CLAIM_RETRY_MS);
      })
      .finally(() => clearTimeout(bound));
  };

  // After a reconnect, replies published while we were away are found in their result keys.
  const onReady = () => {
    const ids = [...entries.keys()];
    if (ids.length === 0) return;
    void opts.redis
      .mget(ids.map((id) => keys.result(id)))
      .then((values) => {
        for (const v of values) if (v) onMessage(channel, v);
      })
      .catch(() => {});
  };
  opts.subscriber.on("message", onMessage);
  opts.subscriber.on("ready", onReady);
  await opts.subscriber.subscribe(channel);

  return {
    channel,
    wait<T>(jobId: string, timeoutMs: number, wopts: WaitOptions<T> = {}): PendingReply<T> {
      let answer!: (res: WaitResult<unknown>) => void;
      const result = new Promise<WaitResult<T>>((resolve) => {
        answer = (res) => resolve(res as WaitResult<T>);
      });
      const e: Entry = { state: "waiting", answer, onLate: wopts.onLate as ((v: unknown) => void) | undefined };
      e.timer = setTimeout(() => claim(jobId, e), timeoutMs);
      entries.set(jobId, e);
      return {
        result,
        cancel(maybeAdded) {
          if (entries.get(jobId) !== e || e.state !== "waiting") return;
          clearTimeout(e.timer);
          leave(jobId, e);
          if (maybeAdded) e.timer = setTimeout(() => forget(jobId, e), MAYBE_ADDED_TTL_MS);
          else forget(jobId, e);
        },
      };
    },
    get leftCount() {
      let n = 0;
      for (const e of entries.values()) if (e.state === "left") n++;
      return n;
    },
    async close() {
      closed = true;
      for (const [jobId, e] of [...entries]) {
        forget(jobId, e);
        leave(jobId, e);
      }
      opts.subscriber.off("message", onMessage);
      opts.subscriber.off("ready", onReady);
      await opts.subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}

/** Who brings a published outcome to the user (publish-reply-3.lua). */
export type Delivery =
  /** The caller gave up or its process is gone: the worker pushes it to the user's sockets. */
  | "worker"
  /** The caller's process has it (in time, or it pushes it as a late reply itself). */
  | "caller"
  /** Another run of the job holds its lock now, or the outcome was handed over before: say nothing. */
  | "done-elsewhere";

const DELIVERIES: Record<number, Delivery> = { 0: "caller", 1: "worker", 2: "done-elsewhere" };

/** Worker side: delivers a job's outcome to its waiting caller, as the run holding `lockKey` with `token`. */
export async function publishReply(
  redis: Redis,
  msg: { jobId: string; replyTo: string; value: unknown; keepMs: number; lockKey: string; token: string; namespace?: string },
): Promise<Delivery> {
  const keys = replyKeys(msg.namespace);
  const r = defineQueueCommands(redis);
  const body = JSON.stringify({ jobId: msg.jobId, value: msg.value } satisfies Envelope);
  const decision = await r.cityQueuePublishReply(
    keys.result(msg.jobId),
    keys.abandoned(msg.jobId),
    msg.lockKey,
    msg.replyTo,
    body,
    Math.max(1_000, msg.keepMs),
    msg.token,
  );
  return DELIVERIES[Number(decision)] ?? "worker";
}
