// Per-user lanes: BullMQ OSS has no job groups, so one user's jobs are ordered here. The API puts
// a job's id at the back of its user's lane (a Redis list) before adding the job; a worker runs a
// job only while it is the lane's head, and the job leaves the lane when it is done for good
// (completed, or failed after its last attempt). Retries keep the head, so order survives them.
import type { Redis } from "ioredis";
import { defineQueueCommands, type QueueRedis } from "./queue-scripts.js";

export type LanePosition = { state: "head" | "absent" } | { state: "behind"; head: string };

export interface UserLanes {
  /** Commands go out at once, in call order: a job added right after on the same connection comes after it. */
  enter(userId: string, jobId: string): Promise<void>;
  position(userId: string, jobId: string): Promise<LanePosition>;
  /** Leaves the lane; returns the next job's id, which the caller should wake up. */
  leave(userId: string, jobId: string): Promise<string | undefined>;
  /** Removes `headId` if it is still the head (a head whose job will never leave by itself). */
  dropHead(userId: string, headId: string): Promise<boolean>;
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
    async enter(userId, jobId) {
      // Plain commands, not a script: a script that Redis has forgotten is re-sent by ioredis
      // after a NOSCRIPT reply, which could let a job added right after it overtake the entry.
      const res = await redis.multi().rpush(key(userId), jobId).pexpire(key(userId), ttl).exec();
      const failed = res?.find(([err]) => err)?.[0];
      if (!res || failed) throw failed ?? new Error("lane entry was discarded");
    },
    async position(userId, jobId) {
      const [state, head] = await r.cityQueueLanePosition(key(userId), jobId);
      return state === "behind" ? { state, head } : { state: state === "head" ? "head" : "absent" };
    },
    async leave(userId, jobId) {
      return (await r.cityQueueLaneLeave(key(userId), jobId)) ?? undefined;
    },
    async dropHead(userId, headId) {
      return (await r.cityQueueLaneDropHead(key(userId), headId)) === 1;
    },
  };
}
