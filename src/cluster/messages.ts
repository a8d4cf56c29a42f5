// What the cluster primary and its workers say to each other over IPC, and the env they share.
// Our commands use a `cmd` key; @socket.io/sticky's own messages use `type`, so the two never clash
// on the same channel.

/** Worker → primary: the worker has installed its handlers and may be given connections. */
export const READY = "city:ready";
/** Worker → primary: this worker is shutting down (on its own, e.g. a signal): send it no more connections. */
export const STOPPING = "city:stopping";
/** Primary → worker: a whole TCP connection (sent as the handle) plus the bytes already read. */
export const CONNECTION = "city:connection";
/** Primary → worker: run the graceful shutdown, then exit. */
export const SHUTDOWN = "city:shutdown";

export interface ReadyMessage {
  cmd: typeof READY;
}
export interface ConnectionMessage {
  cmd: typeof CONNECTION;
  head: Buffer;
}
export interface ShutdownMessage {
  cmd: typeof SHUTDOWN;
}

/** Env: the worker's slot 1..N; a replacement reuses the slot of the worker it replaces. */
export const ENV_WORKER_ID = "CITY_WORKER_ID";
/** Env: where a worker reaches the front door to re-route a request that reached the wrong worker. */
export const ENV_FRONT_DOOR_HOST = "CITY_FRONT_DOOR_HOST";
export const ENV_FRONT_DOOR_PORT = "CITY_FRONT_DOOR_PORT";

/** Request header marking a request a worker already re-routed once: it is never re-routed again. */
export const REROUTED_HEADER = "x-city-rerouted";

export function cmdOf(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const cmd = (message as { cmd?: unknown }).cmd;
  return typeof cmd === "string" ? cmd : undefined;
}
