// Lets a `secondme` job run only when it heads its user's lane (src/infra/queue/user-lanes.ts).
// A job behind another is parked in BullMQ's delayed set and woken by the job ahead when that one
// leaves the lane; the park timeout is only a safety net for a waker that died.
import { DelayedError, type Job, type Queue } from "bullmq";
import { decodeTime } from "ulid";
import type { UserLanes } from "../src/infra/queue/user-lanes.js";

/** Re-check interval of a parked job, should nobody wake it. */
const PARK_MS = 5_000;
/** A head whose job does not exist yet may still be on its way into the queue (lane first, job second). */
const UNBORN_GRACE_MS = 60_000;

export interface LaneGate {
  /** Returns when the job may run; throws DelayedError (to BullMQ) after parking it. */
  enter(job: Job, token: string | undefined, userId: string): Promise<void>;
  /** Leaves the lane and wakes the next job of the user. */
  leave(userId: string, jobId: string): Promise<void>;
}

export function createLaneGate(lanes: UserLanes, queue: Queue): LaneGate {
  async function wake(jobId: string): Promise<void> {
    const next = await queue.getJob(jobId);
    // Only a parked job can be promoted; a waiting or active one needs nothing.
    await next?.promote().catch(() => {});
  }

  /** True when `headId` will never leave the lane by itself. */
  async function isStale(headId: string): Promise<boolean> {
    const state = await queue.getJobState(headId);
    if (state === "completed" || state === "failed") return true;
    if (state !== "unknown") return false;
    try {
      return Date.now() - decodeTime(headId.slice(headId.lastIndexOf("_") + 1)) > UNBORN_GRACE_MS;
    } catch {
      return true;
    }
  }

  return {
    async enter(job, token, userId) {
      const jobId = job.id!;
      for (let i = 0; i < 5; i++) {
        const pos = await lanes.position(userId, jobId);
        if (pos.state !== "behind") return;
        if (await isStale(pos.head)) {
          await lanes.dropHead(userId, pos.head);
          continue;
        }
        await job.moveToDelayed(Date.now() + PARK_MS, token);
        // The head may have left between the check and the park, and woken nobody: look again.
        if ((await lanes.position(userId, jobId)).state !== "behind") await job.promote().catch(() => {});
        throw new DelayedError();
      }
    },
    async leave(userId, jobId) {
      const next = await lanes.leave(userId, jobId);
      if (next) await wake(next);
    },
  };
}
