// Every BullMQ queue of the city, by name: bull-board shows each of them.

export const SECONDME_QUEUE = "secondme";
/** Owned by the presence capability (src/presence/sweep-queue.ts); listed here for the dashboard. */
export const PRESENCE_SWEEP_QUEUE_NAME = "presence-sweep";

export const QUEUE_NAMES: readonly string[] = [SECONDME_QUEUE, PRESENCE_SWEEP_QUEUE_NAME];
