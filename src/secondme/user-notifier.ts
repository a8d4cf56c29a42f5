// How Second Me tells a user what happened while their HTTP request may be gone: the job's
// progress (`secondme.status`) and a reply that came after the caller stopped waiting
// (`secondme.reply`). The worker process has no sockets, so the Redis driver publishes on one
// channel, and every API process subscribes (subscribeUserNotifications) and pushes to the sockets
// of that user it holds itself: each notification reaches each API process once, so the realtime
// layer must emit locally (e.g. `io.local`), not broadcast through the adapter again.
import type { Redis } from "ioredis";

export type SecondMeState = "queued" | "thinking" | "done" | "failed";

export interface SecondMeStatusPayload {
  /** The prompt's message id: ties statuses and the reply to one request. */
  readonly request_id: string;
  readonly state: SecondMeState;
  /** With `failed`: what the caller saw, or would have. */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface SecondMeReplyPayload {
  readonly request_id: string;
  readonly message_id: string;
  readonly reply: string;
  /** The same text, for the front end that reads `response` (CONTRACT §10). */
  readonly response: string;
  readonly created_at: string;
}

/** The `secondme.reply` of a turn's reply (the worker and the API process both send it, never both for one turn). */
export function replyPayload(requestId: string, r: { readonly replyId: string; readonly reply: string; readonly createdAt: string }): SecondMeReplyPayload {
  return { request_id: requestId, message_id: r.replyId, reply: r.reply, response: r.reply, created_at: r.createdAt };
}

export interface UserEventPayloads {
  "secondme.status": SecondMeStatusPayload;
  "secondme.reply": SecondMeReplyPayload;
}

export type UserEvent = keyof UserEventPayloads;

export interface UserNotifier {
  notify<E extends UserEvent>(userId: string, event: E, payload: UserEventPayloads[E]): Promise<void>;
}

/** One notification as it travels on the channel. */
export interface UserNotification<E extends UserEvent = UserEvent> {
  readonly userId: string;
  readonly event: E;
  readonly payload: UserEventPayloads[E];
}

export const USER_NOTIFY_CHANNEL = "city:secondme:notify";

export function createRedisUserNotifier(redis: Redis, channel = USER_NOTIFY_CHANNEL): UserNotifier {
  return {
    async notify(userId, event, payload) {
      await redis.publish(channel, JSON.stringify({ userId, event, payload } satisfies UserNotification));
    },
  };
}

const EVENTS = new Set<string>(["secondme.status", "secondme.reply"]);

/**
 * Calls `handler` for every notification published by any process. `subscriber` must be a
 * connection in subscriber mode (createRedis(url, "pubsub")); it may carry other channels too and
 * is not closed here (the caller opened it).
 */
export async function subscribeUserNotifications(
  subscriber: Redis,
  handler: (n: UserNotification) => void,
  channel = USER_NOTIFY_CHANNEL,
): Promise<{ close(): Promise<void> }> {
  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    let n: UserNotification;
    try {
      n = JSON.parse(message) as UserNotification;
    } catch {
      return;
    }
    if (typeof n?.userId === "string" && EVENTS.has(n.event) && n.payload && typeof n.payload === "object") handler(n);
  };
  subscriber.on("message", onMessage);
  await subscriber.subscribe(channel);
  return {
    async close() {
      subscriber.off("message", onMessage);
      await subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
