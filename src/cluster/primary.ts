// The API cluster's primary process: listens on the public port, forks the workers, and lets the
// front door decide per connection whether it needs Socket.IO stickiness or can go whole to any
// worker; relays /metrics collections between workers. Workers never listen themselves. The
// primary loads no app code (no Koa, Prisma, BullMQ or Socket.IO server): it is a router.
import cluster, { type Worker } from "node:cluster";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { createFrontDoor, type Log } from "./front-door.js";
import { ENV_FRONT_DOOR_HOST, ENV_FRONT_DOOR_PORT } from "./messages.js";
import { serveMetricsRelay } from "./metrics-relay.js";
import { checkNodeInternals } from "./node-internals.js";
import { WorkerPool } from "./worker-pool.js";

export interface PrimaryOptions {
  port: number;
  host: string;
  /** At least 1 (the contract's default is at least 2). */
  workers: number;
  /** Absolute path of the worker entry: .ts (tsx loader via execArgv) or .js. */
  workerScript: string;
  /** Extra env for workers. */
  env?: Record<string, string>;
  /** Settles once the database is migrated; workers that ask wait for it (see WorkerPool). */
  database?: Promise<unknown>;
  /** How long close() lets workers shut down gracefully before SIGKILL. Default 10000. */
  shutdownTimeoutMs?: number;
  log?: (level: "info" | "warn" | "error", msg: string, extra?: object) => void;
}

export interface Primary {
  readonly port: number;
  /** True once the worker said it is ready, until it exits: a starting one is not yet. */
  isServing(worker: Worker): boolean;
  /** Readiness of every worker goes false (SHUTDOWN_DELAY_MS); close() follows. */
  announceDraining(): void;
  close(): Promise<void>;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

const stderrLog: Log = (level, msg, extra) => {
  if (level !== "info") console.error(JSON.stringify({ level, msg, pid: process.pid, ...extra }));
};

export async function startPrimary(opts: PrimaryOptions): Promise<Primary> {
  if (!cluster.isPrimary) throw new Error("startPrimary must run in the cluster primary");
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`workers must be an integer >= 1, got ${opts.workers}`);
  if (!path.isAbsolute(opts.workerScript)) throw new Error(`workerScript must be absolute: ${opts.workerScript}`);
  const log = opts.log ?? stderrLog;
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const internals = await checkNodeInternals();
  if (internals) throw new Error(internals);

  // The pool needs the real port (workers re-route through it) and the front door needs the pool.
  let pool: WorkerPool | undefined;
  const frontDoor = createFrontDoor(() => pool?.pick(), log);
  // Plain TCP: the front door reads only the request line, the workers speak HTTP.
  const server = net.createServer(frontDoor.accept);
  server.on("error", (err) => log("error", "front door server error", { err: err.message }));
  try {
    await listen(server, opts.port, opts.host);
  } catch (err) {
    frontDoor.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;

  pool = new WorkerPool({
    size: opts.workers,
    workerScript: opts.workerScript,
    env: { ...opts.env, [ENV_FRONT_DOOR_HOST]: reachableHost(opts.host), [ENV_FRONT_DOOR_PORT]: String(port) },
    log,
    database: opts.database,
  });
  const workers = pool;
  const stopRelay = serveMetricsRelay((worker) => workers.isServing(worker));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      server.close();
      await workers.shutdown(shutdownTimeoutMs);
      // After the workers: requests sticky relays for them may finish during their graceful shutdown.
      frontDoor.close();
      stopRelay();
    })());

  try {
    await workers.start();
  } catch (err) {
    server.close();
    await workers.shutdown(0);
    frontDoor.close();
    stopRelay();
    throw err;
  }
  log("info", "cluster primary ready", { port, workers: opts.workers });
  return { port, isServing: (worker) => workers.isServing(worker), announceDraining: () => workers.broadcast({ cmd: "city:draining" }), close };
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Where a worker on this machine reaches the front door (a wildcard address is not dialable). */
function reachableHost(host: string): string {
  return host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
}
