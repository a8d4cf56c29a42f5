// Names of the presence-expiry sweep on BullMQ. A job scheduler (not the deprecated repeatable
// jobs) with a fixed id: every process upserts the same scheduler, so there is exactly one sweep
// job per interval however many sweep workers run.

export const PRESENCE_SWEEP_QUEUE = "presence-sweep";
export const PRESENCE_SWEEP_SCHEDULER_ID = "presence-sweep";
export const PRESENCE_SWEEP_JOB_NAME = "sweep";

/** What a sweep job returns (kept in BullMQ for the dashboard, not used by anyone). */
export interface PresenceSweepJobResult {
  readonly offline: number;
}
