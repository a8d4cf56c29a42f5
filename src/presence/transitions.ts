// Presence transitions on the wire between processes, and the subscriber every API worker runs.
//
// Who broadcasts: the Lua scripts PUBLISH each transition on TRANSITIONS_CHANNEL in the same
// atomic step that changes the state, whether the change came from a heartbeat in an API worker,
// a grace timer, or the sweep job. Every API worker subscribes once and delivers each transition to
// its OWN local clients only (Socket.IO `.local`, its own raw-ws sockets), never through the
// adapter. A transition happens once (the scripts are atomic and gated on the expiry index), is
// published once, and reaches each client through exactly one worker: exactly once cluster-wide.
// The `changed` flags returned by the service are for acks and metrics, not for broadcasting.
import type { Redis } from "ioredis";
import { TRANSITIONS_CHANNEL } from "./keys.js";

export type PresenceStatus = "online" | "offline";

export interface PresenceTransition {
  readonly userId: string;
  readonly status: PresenceStatus;
  /** ISO 8601 UTC; for `offline`, the last heartbeat (or the moment the last tab closed). */
  readonly lastSeen: string;
  /** Rooms whose online set changed with it: the targets of `room.presence`. */
  readonly rooms: readonly string[];
}

interface RawTransition {
  userId: string;
  status: PresenceStatus;
  lastSeen: number;
  rooms: string[] | Record<string, never>;
}

/** Parses a scripts' JSON array (Lua's cjson writes an empty array as `{}`). */
export function decodeTransitions(json: string): PresenceTransition[] {
  const raw = JSON.parse(json) as RawTransition[] | Record<string, never>;
  if (!Array.isArray(raw)) return [];
  return raw.map((t) => ({
    userId: String(t.userId),
    status: t.status,
    lastSeen: new Date(Number(t.lastSeen)).toISOString(),
    rooms: Array.isArray(t.rooms) ? t.rooms.map(String) : [],
  }));
}

export interface TransitionSubscription {
  /** Unsubscribes; the connection belongs to the caller and stays open. */
  close(): Promise<void>;
}

/**
 * Calls `handler` for every presence transition anywhere in the cluster. `subscriber` must be a
 * connection in subscriber mode (createRedis(url, "pubsub")); it may carry other channels too.
 * Pub/sub is at-most-once: a worker cut off from Redis misses transitions, which is why clients
 * get a fresh `presence.bulk_update` when they reconnect.
 */
export async function subscribeTransitions(
  subscriber: Redis,
  handler: (t: PresenceTransition) => void,
  onError: (err: unknown) => void = () => {},
): Promise<TransitionSubscription> {
  const listener = (channel: string, message: string) => {
    if (channel !== TRANSITIONS_CHANNEL) return;
    let batch: PresenceTransition[];
    try {
      batch = decodeTransitions(message);
    } catch (err) {
      onError(err);
      return;
    }
    for (const t of batch) {
      try {
        handler(t);
      } catch (err) {
        onError(err);
      }
    }
  };
  subscriber.on("message", listener);
  await subscriber.subscribe(TRANSITIONS_CHANNEL);
  return {
    async close() {
      subscriber.off("message", listener);
      await subscriber.unsubscribe(TRANSITIONS_CHANNEL).catch(() => {});
    },
  };
}
