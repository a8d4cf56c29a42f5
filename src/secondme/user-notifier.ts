// How Second Me tells a user what happened while their HTTP request may be gone: the job's
// progress (`secondme.status`) and a reply that came after the caller stopped waiting
// (`secondme.reply`). The worker process has no sockets, so the Redis driver appends to one Redis
// stream, and every API process reads it (followUserNotifications) and pushes to the sockets of
// that user it holds itself: each notification reaches each API process once, so the realtime
// layer must emit locally (e.g. `io.local`), not broadcast through the adapter again.
// A stream, not pub/sub: after a Redis restart the job process published a late reply before the
// API processes had subscribed again, and that reply reached nobody. A reader continues from the
// last entry it saw, so what was added while it reconnected is read when it is back.
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

/** One notification as it travels in the stream. */
export interface UserNotification<E extends UserEvent = UserEvent> {
  readonly userId: string;
  readonly event: E;
  readonly payload: UserEventPayloads[E];
}

export const USER_NOTIFY_STREAM = "city:secondme:notify";
/** Entries the stream keeps (about): far more than a reader misses while Redis blips. */
const KEEP_ENTRIES = 10_000;
/** How long one blocking read waits (it also bounds how long close() waits). */
const BLOCK_MS = 1_000;

export function createRedisUserNotifier(redis: Redis, stream = USER_NOTIFY_STREAM): UserNotifier {
  return {
    async notify(userId, event, payload) {
      await redis.xadd(stream, "MAXLEN", "~", KEEP_ENTRIES, "*", "n", JSON.stringify({ userId, event, payload } satisfies UserNotification));
    },
  };
}

const EVENTS = new Set<string>(["secondme.status", "secondme.reply"]);

function parse(fields: string[]): UserNotification | undefined {
  try {
    const n = JSON.parse(fields[1] ?? "") as UserNotification;
    return typeof n?.userId === "string" && EVENTS.has(n.event) && n.payload && typeof n.payload === "object" ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface UserNotificationsFollower {
  /** Resolves once reading has begun: every notification from then on is handed over. */
  readonly ready: Promise<void>;
  /** Stops reading and closes `reader`. */
  close(): Promise<void>;
}

/**
 * Calls `handler` for every notification any process adds from now on, in order, each once.
 * `reader` must be a connection of its own that may block and waits out outages
 * (createRedis(url, "bullmq")); it is closed by close().
 */
export function followUserNotifications(reader: Redis, handler: (n: UserNotification) => void, stream = USER_NOTIFY_STREAM): UserNotificationsFollower {
  let closed = false;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const loop = (async () => {
    let last: string | undefined;
    while (!closed) {
      try {
        // Start after the newest entry now (or the stream's beginning when there is none yet).
        last ??= ((await reader.xrevrange(stream, "+", "-", "COUNT", 1))[0]?.[0] as string | undefined) ?? "0-0";
        markReady();
        const res = await reader.xread("BLOCK", BLOCK_MS, "STREAMS", stream, last);
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            const n = parse(fields);
            if (n) handler(n);
          }
        }
      } catch {
        // Redis away: the connection waits for it; a failure here is only a pause.
        if (!closed) await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    ready,
    async close() {
      closed = true;
      reader.disconnect();
      await loop;
    },
  };
}
