// The transport-free presence capability: what the Socket.IO namespace, the raw-ws shim, the REST
// routes and the sweep job call. State lives in Redis only (any worker may serve any user); the
// Lua scripts make each multi-key step atomic and publish transitions (see transitions.ts).
import type { Redis } from "ioredis";
import type { Config } from "../config/config.js";
import { createBatcher } from "./heartbeat-batcher.js";
import { CITY_PREFIX, EXPIRY_KEY, LAST_SEEN_KEY, ROOM_KEY_PREFIX, TRANSITIONS_CHANNEL, USER_KEY_PREFIX, presenceKeys } from "./keys.js";
import { definePresenceCommands } from "./scripts.js";
import { decodeTransitions, type PresenceStatus, type PresenceTransition } from "./transitions.js";

export interface PresenceServiceOptions {
  /** A commands connection; the service never closes it (the caller owns it). */
  readonly redis: Redis;
  readonly config: Config["presence"];
  /** Milliseconds since the epoch. @defaultValue Date.now */
  readonly clock?: () => number;
  /** Heartbeats per script call at most. @defaultValue 500 */
  readonly maxBatch?: number;
  /** Users per sweep script call, so one call never blocks Redis for long. @defaultValue 1000 */
  readonly sweepPage?: number;
  /** Called when a grace timer's check fails (the sweep will still catch the user). */
  readonly onError?: (err: unknown) => void;
}

export interface OnlineUser {
  readonly user_id: string;
  readonly status: "online";
  readonly last_seen: string;
}

export interface SweepResult {
  readonly offline: readonly PresenceTransition[];
}

export interface PresenceService {
  /** SETEX presence:user:{id}, batched with the heartbeats that arrive together. */
  heartbeat(userId: string): Promise<{ changed: boolean }>;
  /** Registers a connection (tab/device) and counts as a heartbeat; cancels a running grace. */
  connectionOpened(userId: string, connId: string): Promise<{ changed: boolean }>;
  /** When the last connection closes, the user goes offline after `graceMs` unless one returns. */
  connectionClosed(userId: string, connId: string): Promise<void>;
  /** Joins as an online member (counts as a heartbeat); `changed` = the membership is new. */
  joinRoom(roomId: string, userId: string): Promise<{ changed: boolean }>;
  leaveRoom(roomId: string, userId: string): Promise<{ changed: boolean }>;
  /** Exact online counts (SCARD presence:room:{id}), in the order given, in one round trip. */
  countRooms(roomIds: readonly string[]): Promise<number[]>;
  /** Status per id from the contract key, in one command (MGET). */
  statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>>;
  /** ISO 8601 last-seen time per id; null for a user never seen. */
  lastSeen(userIds: readonly string[]): Promise<Record<string, string | null>>;
  /** The most recently active online users, for `presence.bulk_update`. */
  onlineUsers(limit?: number): Promise<OnlineUser[]>;
  /** Offline transitions of every user whose expiry passed; also published. Safe to overlap. */
  sweep(now?: number): Promise<SweepResult>;
  /** Counters since creation, for metrics and tests. */
  stats(): { heartbeats: number; heartbeatBatches: number; graceTimers: number };
  /** Flushes queued heartbeats and stops grace timers (the sweep covers them); keeps `redis` open. */
  close(): Promise<void>;
}

/** Memberships of a user swept while sockets were still registered are kept this long. */
const SWEPT_RETENTION_MS = 10 * 60_000;
/** The grace timer fires this much after the deadline, so Redis has surely expired the key. */
const GRACE_SLACK_MS = 25;
const MAX_SWEEP_PAGES = 100;

export function createPresenceService(opts: PresenceServiceOptions): PresenceService {
  const redis = definePresenceCommands(opts.redis);
  const { ttlSeconds, graceMs } = opts.config;
  const clock = opts.clock ?? Date.now;
  const sweepPage = opts.sweepPage ?? 1000;
  const onError = opts.onError ?? (() => {});
  const graceTimers = new Map<string, NodeJS.Timeout>();
  let graceTimersStarted = 0;
  let closed = false;

  const common = (now = clock()) =>
    [EXPIRY_KEY, LAST_SEEN_KEY, now, ttlSeconds, USER_KEY_PREFIX, ROOM_KEY_PREFIX, CITY_PREFIX, TRANSITIONS_CHANNEL, SWEPT_RETENTION_MS] as const;

  const batcher = createBatcher<boolean>({
    maxBatch: opts.maxBatch,
    flush: async (ids) => (await redis.cityPresenceHeartbeat(...common(), ...ids)).map((n) => n === 1),
  });

  const settle = async (userIds: readonly string[]) =>
    decodeTransitions(await redis.cityPresenceSettle(...common(), ...userIds));

  const armGrace = (userId: string, deadline: number) => {
    clearTimeout(graceTimers.get(userId));
    graceTimersStarted++;
    const t = setTimeout(() => {
      graceTimers.delete(userId);
      settle([userId]).catch(onError);
    }, Math.max(0, deadline - clock()) + GRACE_SLACK_MS);
    // A pending grace must not keep a process alive: the deadline is in the index for the sweep.
    t.unref();
    graceTimers.set(userId, t);
  };

  const byId = <T>(ids: readonly string[], values: readonly T[]): Record<string, T> => {
    const out: Record<string, T> = {};
    ids.forEach((id, i) => (out[id] = values[i] as T));
    return out;
  };

  return {
    async heartbeat(userId) {
      return { changed: await batcher.push(userId) };
    },

    async connectionOpened(userId, connId) {
      clearTimeout(graceTimers.get(userId));
      graceTimers.delete(userId);
      return { changed: (await redis.cityPresenceOpenConnection(...common(), userId, connId)) === 1 };
    },

    async connectionClosed(userId, connId) {
      const deadline = await redis.cityPresenceCloseConnection(...common(), userId, connId, graceMs);
      if (deadline >= 0 && !closed) armGrace(userId, deadline);
    },

    async joinRoom(roomId, userId) {
      const [added] = await redis.cityPresenceJoinRoom(...common(), userId, roomId);
      return { changed: added === 1 };
    },

    async leaveRoom(roomId, userId) {
      return { changed: (await redis.cityPresenceLeaveRoom(...common(), userId, roomId)) === 1 };
    },

    async countRooms(roomIds) {
      if (roomIds.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of roomIds) pipe.scard(presenceKeys.room(id));
      const replies = (await pipe.exec()) ?? [];
      return replies.map(([err, n]) => {
        if (err) throw err;
        return Number(n);
      });
    },

    async statuses(userIds) {
      if (userIds.length === 0) return {};
      const values = await redis.mget(userIds.map(presenceKeys.user));
      return byId(userIds, values.map((v): PresenceStatus => (v === null ? "offline" : "online")));
    },

    async lastSeen(userIds) {
      if (userIds.length === 0) return {};
      const values = await redis.hmget(LAST_SEEN_KEY, ...userIds);
      return byId(userIds, values.map((v) => (v === null ? null : new Date(Number(v)).toISOString())));
    },

    async onlineUsers(limit = 500) {
      const flat = await redis.cityPresenceOnlineUsers(...common(), limit);
      const out: OnlineUser[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        out.push({ user_id: flat[i]!, status: "online", last_seen: new Date(Number(flat[i + 1])).toISOString() });
      }
      return out;
    },

    async sweep(now) {
      const offline: PresenceTransition[] = [];
      // Page until a page comes back short: a mass expiry is handled in steps that each hold
      // Redis only briefly, and fresh users are re-indexed forward, so each page makes progress.
      // The page cap only guards against a pathological loop; the next sweep continues.
      for (let page = 0; page < MAX_SWEEP_PAGES; page++) {
        const [looked, json] = await redis.cityPresenceSweep(...common(now ?? clock()), sweepPage);
        offline.push(...decodeTransitions(json));
        if (looked < sweepPage) break;
      }
      return { offline };
    },

    stats: () => ({ heartbeats: batcher.stats.items, heartbeatBatches: batcher.stats.batches, graceTimers: graceTimersStarted }),

    async close() {
      closed = true;
      for (const t of graceTimers.values()) clearTimeout(t);
      graceTimers.clear();
      await batcher.drain();
    },
  };
}
