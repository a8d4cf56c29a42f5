// When a lane entry will never leave by itself: its job finished without leaving (its process
// died in between, or Redis was away for the leave), or its job never came to be (the API
// process died between the lane entry and the add). Both the job gate and the API (before it
// refuses a user whose lane looks full) drop such entries.
import { decodeTime } from "ulid";

/** A lane entry whose job does not exist yet may still be on its way (lane first, job second). */
export const UNBORN_GRACE_MS = 60_000;

/** BullMQ's job states, as `Queue.getJobState` reports them ("unknown": no such job). */
export type LaneJobState = string;

/** True when the entry `jobId`, whose job is in `state`, will never leave its lane by itself. */
export function isStaleEntry(jobId: string, state: LaneJobState, now = Date.now()): boolean {
  if (state === "completed" || state === "failed") return true;
  if (state !== "unknown") return false;
  try {
    // Job ids are prompt ids (`smmsg_<ULID>`): the ULID says when the API made it.
    return now - decodeTime(jobId.slice(jobId.lastIndexOf("_") + 1)) > UNBORN_GRACE_MS;
  } catch {
    return true;
  }
}
