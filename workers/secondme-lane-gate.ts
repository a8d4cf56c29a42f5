// Lets a `secondme` job run only when it heads its user's lane (src/infra/queue/user-lanes.ts), so
// one user's prompts reach the agent one at a time, in the order accepted. A job behind another is
// parked in BullMQ's delayed set and woken by the job ahead when that one leaves the lane; the
// park timeout is only a safety net for a waker that died. A head that will never leave by itself
// (lane-entries.ts) is dropped, and the job looks again: as many times as there are such heads,
// never running before it is the head (before, after five drops it ran wherever it stood).
// A job whose process died mid-call stays the head while it is active; BullMQ's stalled-job check
// hands it back to a worker, and it runs again first (the turn is idempotent, the user hears once).
import { DelayedError, type Job, type Queue } from "bullmq";
import { isStaleEntry } from "../src/infra/queue/lane-entries.js";
import type { UserLanes } from "../src/infra/queue/user-lanes.js";

/** Re-check interval of a parked job, should nobody wake it. */
export const PARK_MS = 5_000;

/** What the gate needs to know of the queue's jobs. */
export interface LaneJobs {
  /** BullMQ's state of a job; "unknown" when there is none. */
  state(jobId: string): Promise<string>;
  /** Wakes a parked job; a waiting or active one needs nothing. */
  wake(jobId: string): Promise<void>;
}

export function queueLaneJobs(queue: Queue): LaneJobs {
  return {
    state: (jobId) => queue.getJobState(jobId),
    async wake(jobId) {
      const job = await queue.getJob(jobId);
      // Only a delayed (parked) job can be promoted; anything else refuses, and needs nothing.
      await job?.promote().catch(() => {});
    },
  };
}

/** The job as the gate handles it: parked by moving it to the delayed set. */
export type GatedJob = Pick<Job, "id" | "moveToDelayed" | "promote">;

export interface LaneGate {
  /** Returns when the job may run; throws DelayedError (to BullMQ) after parking it. */
  enter(job: GatedJob, token: string | undefined, userId: string): Promise<void>;
  /** Leaves the lane and wakes the next job of the user. */
  leave(userId: string, jobId: string): Promise<void>;
}

export function createLaneGate(lanes: UserLanes, jobs: LaneJobs): LaneGate {
  return {
    async enter(job, token, userId) {
      const jobId = job.id!;
      for (;;) {
        const pos = await lanes.position(userId, jobId);
        // "absent": the lane was lost (expired, or Redis came back empty); run rather than wait forever.
        if (pos.state !== "behind") return;
        if (isStaleEntry(pos.head, await jobs.state(pos.head))) {
          const { head } = await lanes.dropHead(userId, pos.head);
          // A job parked behind the dropped head would otherwise sleep out its park timeout.
          if (head && head !== jobId) await jobs.wake(head);
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
      if (next) await jobs.wake(next);
    },
  };
}
