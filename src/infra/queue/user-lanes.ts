// Per-user lanes: BullMQ OSS has no job groups, so one user's jobs are ordered here. The API puts
// a job's id at the back of its user's lane (a Redis list) before adding the job; a worker runs a
// job only while it is the lane's head, and the job leaves the lane when it is done for good
// (completed, or failed after its last attempt). Retries keep the head, so order survives them.
// The lane's length is what the user has waiting or running, so it also bounds that (CONTRACT §13).
import type { Redis } from "ioredis";
import { defineQueueCommands, type QueueRedis } from "./queue-scripts.js";

export type LanePosition = { state: "head" | "absent" } | { state: "behind"; head: string };

/** Entered; or refused because the lane holds `max` entries already (listed, oldest first). */
export type LaneEntry = { entered: true } | { entered: false; entries: string[] };

export interface UserLanes {
  /** Joins the back of the lane unless it already holds `max` entries. */
  enter(userId: string, jobId: string, max: number): Promise<LaneEntry>;
  position(userId: string, jobId: string): Promise<LanePosition>;
  /** Leaves the lane (from wherever it stands); returns the head after it, which the caller should wake up. */
  leave(userId: string, jobId: string): Promise<string | undefined>;
  /**
   * Removes `headId` if it is still the head (a head whose job will never leave by itself).
   * `head`: the lane's head afterwards, to be woken up.
   */
  dropHead(userId: string, headId: string): Promise<{ dropped: boolean; head: string | undefined }>;
}

export interface UserLanesOptions {
  /** @defaultValue `city:secondme:lane:` */
  readonly keyPrefix?: string;
  /** A lane no one touched for this long is forgotten. @defaultValue one day */
  readonly ttlMs?: number;
}

export function createUserLanes(redis: Redis, opts: UserLanesOptions = {}): UserLanes {
  const r: QueueRedis = defineQueueCommands(redis);
  const prefix = opts.keyPrefix ?? "city:secondme:lane:";
  const ttl = opts.ttlMs ?? 24 * 3_600_000;
  const key = (userId: string) => prefix + userId;
  return {
    async enter(userId, jobId, max) {
      const [entered, ...entries] = await r.cityQueueLaneEnter(key(userId), jobId, max, ttl);
      return Number(entered) === 1 ? { entered: true } : { entered: false, entries: entries.map(String) };
    },
    async position(userId, jobId) {
      const [state, head] = await r.cityQueueLanePosition(key(userId), jobId);
      return state === "behind" ? { state, head } : { state: state === "head" ? "head" : "absent" };
    },
    async leave(userId, jobId) {
      return (await r.cityQueueLaneLeave(key(userId), jobId)) ?? undefined;
    },
    async dropHead(userId, headId) {
      const [dropped, head] = await r.cityQueueLaneDropHead(key(userId), headId);
      return { dropped: Number(dropped) === 1, head: head || undefined };
    },
  };
}
