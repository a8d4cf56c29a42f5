// Every message between the processes of one machine's API cluster, in one place: their types,
// and one dispatcher on each side (one `process.on("message")` listener in a worker, one
// `cluster.on("message")` listener in the primary) that hands each message to the one handler
// registered for its `cmd`. The job process gets no messages: it is stopped with SIGTERM, as pm2
// and `npm start` do. Our messages carry a `cmd` key; @socket.io/sticky's own messages on the
// same channel use `type`, so the dispatchers pass them by.
import cluster, { type Worker } from "node:cluster";
import type { MetricObjectWithValues, MetricValue } from "prom-client";

/** prom-client's registry as JSON (`Registry#getMetricsAsJSON`): the unit the metrics relay moves. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Primary → worker. */
export type PrimaryMessage =
  /** A whole TCP connection (sent as the handle) plus the bytes the front door already read. */
  | { cmd: "city:connection"; head: Buffer }
  /** The database is prepared (migrated, default rooms): the worker may serve (answers `city:await-database`). */
  | { cmd: "city:database-ready" }
  /** Readiness goes false now (SHUTDOWN_DELAY_MS): load balancers move away; shutdown follows. */
  | { cmd: "city:draining" }
  /** Run the graceful shutdown, then exit. */
  | { cmd: "city:shutdown" }
  /** Send me your metrics registry for collection `id`. */
  | { cmd: "city:metrics-collect"; id: number }
  /** The registries of every serving worker for your request `id`, or why there are none. */
  | { cmd: "city:metrics-parts"; id: number; parts?: MetricsJson[]; error?: string };

/** Worker → primary. */
export type WorkerMessage =
  /** The worker built its app and waits for the database to be prepared before it serves. */
  | { cmd: "city:await-database" }
  /** The worker installed its handlers and may be given connections. */
  | { cmd: "city:ready" }
  /** The worker is shutting down (on its own, e.g. a signal): send it no more connections. */
  | { cmd: "city:stopping" }
  /** Collect every worker's metrics for me (a scrape of /metrics landed here). */
  | { cmd: "city:metrics-request"; id: number }
  /** My registry, for collection `id`. */
  | { cmd: "city:metrics-collected"; id: number; metrics: MetricsJson };

type Cmd<M> = M extends { cmd: infer C } ? C : never;
type Of<M, C> = Extract<M, { cmd: C }>;

/** Env: the worker's slot 1..N; a replacement reuses the slot of the worker it replaces. */
export const ENV_WORKER_ID = "CITY_WORKER_ID";
/** Env: where a worker reaches the front door to re-route a request that reached the wrong worker. */
export const ENV_FRONT_DOOR_HOST = "CITY_FRONT_DOOR_HOST";
export const ENV_FRONT_DOOR_PORT = "CITY_FRONT_DOOR_PORT";

/** Request header marking a request a worker already re-routed once: it is never re-routed again. */
export const REROUTED_HEADER = "x-city-rerouted";

function cmdOf(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const cmd = (message as { cmd?: unknown }).cmd;
  return typeof cmd === "string" && cmd.startsWith("city:") ? cmd : undefined;
}

// ---- in a worker ------------------------------------------------------------------------------

type FromPrimaryHandler = (message: never, handle: unknown) => void;
const fromPrimary = new Map<string, FromPrimaryHandler>();

/**
 * Registers the handler of one kind of message from the primary. One handler per kind: a second
 * registration is a wiring mistake and throws. The process's single listener is added on first use.
 */
export function onPrimaryMessage<C extends Cmd<PrimaryMessage>>(cmd: C, handler: (message: Of<PrimaryMessage, C>, handle: unknown) => void): void {
  if (fromPrimary.has(cmd)) throw new Error(`a handler for ${cmd} is already registered`);
  if (fromPrimary.size === 0) {
    process.on("message", (message: unknown, handle: unknown) => {
      const c = cmdOf(message);
      if (c) fromPrimary.get(c)?.(message as never, handle);
    });
  }
  fromPrimary.set(cmd, handler as FromPrimaryHandler);
}

/** Sends to the primary; false (and nothing sent) outside a cluster worker. Errors are dropped:
 *  a primary that is gone is noticed through 'disconnect'. */
export function sendToPrimary(message: WorkerMessage): boolean {
  if (!cluster.isWorker || !process.send) return false;
  process.send(message, undefined, {}, () => {});
  return true;
}

// ---- in the primary ---------------------------------------------------------------------------

type FromWorkerHandler = (worker: Worker, message: never) => void;
const fromWorkers = new Map<string, FromWorkerHandler>();

/** Registers the handler of one kind of message from the workers, as onPrimaryMessage does.
 *  Returns an unregister. */
export function onWorkerMessage<C extends Cmd<WorkerMessage>>(cmd: C, handler: (worker: Worker, message: Of<WorkerMessage, C>) => void): () => void {
  if (fromWorkers.has(cmd)) throw new Error(`a handler for ${cmd} is already registered`);
  if (fromWorkers.size === 0) cluster.on("message", dispatchFromWorker);
  fromWorkers.set(cmd, handler as FromWorkerHandler);
  return () => {
    if (fromWorkers.get(cmd) !== (handler as FromWorkerHandler)) return;
    fromWorkers.delete(cmd);
    if (fromWorkers.size === 0) cluster.off("message", dispatchFromWorker);
  };
}

function dispatchFromWorker(worker: Worker, message: unknown): void {
  const c = cmdOf(message);
  if (c) fromWorkers.get(c)?.(worker, message as never);
}

/**
 * Sends to a worker (with a connection handle for `city:connection`). `done` gets the IPC error,
 * if any; a worker that is not connected any more gets nothing and `done` an error.
 */
export function sendToWorker(worker: Worker, message: PrimaryMessage, handle?: unknown, done: (err: Error | null) => void = () => {}): void {
  if (!worker.isConnected()) return done(new Error(`worker ${worker.id} is not connected`));
  // keepOpen: false closes the primary's copy of a handle once it is sent.
  if (handle) worker.send(message, handle as never, { keepOpen: false }, done);
  else worker.send(message, done);
}
