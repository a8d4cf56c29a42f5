// Request/response over BullMQ without QueueEvents: each API process subscribes once to its own
// reply channel; a job carries that channel (`replyTo`), and the worker publishes the outcome
// there and also stores it briefly under the job id. A waiter is registered before the job is
// added, so no reply can come too early; if a message is lost (a Redis reconnect), the stored
// result is picked up at reconnect or at the deadline. At the deadline the claim is atomic with
// the worker's publish: either the caller gets the result, or the worker learns it was abandoned.
import os from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { defineQueueCommands, type QueueRedis } from "./queue-scripts.js";

export type WaitResult<T> = { readonly kind: "reply"; readonly value: T } | { readonly kind: "timeout" };

export interface PendingReply<T> {
  readonly result: Promise<WaitResult<T>>;
  /** Stops waiting (the job could not be added); nothing is claimed. */
  cancel(): void;
}

export interface ReplyWaiter {
  /** This process's reply channel: put it in the job's data. */
  readonly channel: string;
  /** Registers a wait for `jobId`. Call it BEFORE adding the job. */
  wait<T>(jobId: string, timeoutMs: number): PendingReply<T>;
  /** Ends every pending wait with a timeout and unsubscribes. */
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

interface Envelope {
  jobId: string;
  value: unknown;
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
  const pending = new Map<string, { settle(res: WaitResult<unknown>): void }>();

  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    let env: Envelope;
    try {
      env = JSON.parse(message) as Envelope;
    } catch {
      return;
    }
    pending.get(env.jobId)?.settle({ kind: "reply", value: env.value });
  };
  // After a reconnect, replies published while we were away are found in their result keys.
  const onReady = () => {
    const ids = [...pending.keys()];
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
    wait<T>(jobId: string, timeoutMs: number): PendingReply<T> {
      let settle!: (res: WaitResult<unknown>) => void;
      const result = new Promise<WaitResult<T>>((resolve) => {
        settle = (res) => {
          clearTimeout(timer);
          pending.delete(jobId);
          resolve(res as WaitResult<T>);
        };
      });
      const timer = setTimeout(() => {
        // Still registered while claiming, so a reply that arrives meanwhile settles first.
        r.cityQueueClaimReply(keys.result(jobId), keys.abandoned(jobId), ABANDONED_TTL_MS)
          .then((message) => {
            const value = message ? (JSON.parse(message) as Envelope).value : undefined;
            pending.get(jobId)?.settle(message ? { kind: "reply", value } : { kind: "timeout" });
          })
          .catch(() => pending.get(jobId)?.settle({ kind: "timeout" }));
      }, timeoutMs);
      pending.set(jobId, { settle });
      return { result, cancel: () => settle({ kind: "timeout" }) };
    },
    async close() {
      for (const p of [...pending.values()]) p.settle({ kind: "timeout" });
      opts.subscriber.off("message", onMessage);
      opts.subscriber.off("ready", onReady);
      await opts.subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}

/**
 * Worker side: delivers a job's outcome to its waiting caller. Returns true when the caller had
 * already given up or is gone, so the outcome must reach the user another way (their sockets).
 */
export async function publishReply(
  redis: Redis,
  msg: { jobId: string; replyTo: string; value: unknown; keepMs: number; namespace?: string },
): Promise<boolean> {
  const keys = replyKeys(msg.namespace);
  const r = defineQueueCommands(redis);
  const body = JSON.stringify({ jobId: msg.jobId, value: msg.value } satisfies Envelope);
  return (await r.cityQueuePublishReply(keys.result(msg.jobId), keys.abandoned(msg.jobId), msg.replyTo, body, Math.max(1_000, msg.keepMs))) === 1;
}
