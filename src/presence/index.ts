// Presence: who is online, per city and per room (CONTRACT §5, §7, §10). Transport-free; the
// realtime layer turns transitions (see transitions.ts for who broadcasts) into socket events.
export { createPresenceService } from "./presence-service.js";
export type { OnlineUser, PresenceService, PresenceServiceOptions, SweepResult } from "./presence-service.js";
export { subscribeTransitions, decodeTransitions } from "./transitions.js";
export type { PresenceStatus, PresenceTransition, TransitionSubscription } from "./transitions.js";
export { EXPIRY_KEY, TRANSITIONS_CHANNEL, presenceKeys } from "./keys.js";
export { PRESENCE_SWEEP_QUEUE, PRESENCE_SWEEP_SCHEDULER_ID, PRESENCE_SWEEP_JOB_NAME } from "./sweep-queue.js";
export type { PresenceSweepJobResult } from "./sweep-queue.js";
