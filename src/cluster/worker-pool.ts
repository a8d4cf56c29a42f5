// The primary's workers: one per slot 1..N, forked with the slot number in CITY_WORKER_ID, replaced
// in the same slot when they die unexpectedly, and stopped gracefully on shutdown.
import cluster, { type Worker } from "node:cluster";
import type { Log } from "./front-door.js";
import { ENV_WORKER_ID, onWorkerMessage, sendToWorker, type PrimaryMessage } from "./messages.js";
import { checkChildProcessInternals, closeStrandedHandles } from "./node-internals.js";

export interface WorkerPoolOptions {
  size: number;
  workerScript: string;
  env: Record<string, string>;
  log: Log;
  /**
   * Settles once the database is migrated. Workers load their code meanwhile and ask
   * (`city:await-database`) before they build their app, so loading and migrating overlap.
   * Without it they are answered at once.
   */
  database?: Promise<unknown>;
}

interface Slot {
  readonly id: number;
  worker?: Worker;
  ready: boolean;
  /** The worker said it is shutting down: it gets no new connections. */
  stopping?: boolean;
  forkedAt: number;
}

/** A worker that dies sooner than this after its fork is crash-looping: wait before replacing it. */
const CRASH_LOOP_MS = 1_000;
const REPLACE_DELAY_MS = 1_000;

export class WorkerPool {
  private readonly slots: Slot[];
  private next = 0;
  private stopping = false;
  private starting?: { resolve: () => void; reject: (err: Error) => void };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: (() => void)[];
  private internalsChecked = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    this.slots = Array.from({ length: opts.size }, (_, i) => ({ id: i + 1, ready: false, forkedAt: 0 }));
    this.unsubscribe = [
      onWorkerMessage("city:ready", (worker) => this.onReady(worker)),
      onWorkerMessage("city:stopping", (worker) => {
        const slot = this.slotOf(worker);
        if (slot) slot.stopping = true;
      }),
      onWorkerMessage("city:await-database", (worker) => {
        // A failed migration stops the whole start-up (main.ts); the worker then just waits.
        (opts.database ?? Promise.resolve()).then(() => sendToWorker(worker, { cmd: "city:database-ready" }), () => {});
      }),
    ];
  }

  /** Forks every slot; resolves once all are ready, rejects if one dies before it is. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      for (const slot of this.slots) this.fork(slot);
    });
  }

  /** Round-robin over ready workers, the way Node's own cluster balancing does. */
  pick(): Worker | undefined {
    if (this.stopping) return undefined;
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.next + i) % this.slots.length]!;
      if (slot.ready && !slot.stopping && slot.worker?.isConnected()) {
        this.next = (this.next + i + 1) % this.slots.length;
        return slot.worker;
      }
    }
    return undefined;
  }

  /** True once `worker` said it is ready, until it exits (a draining one still counts: it has served). */
  isServing(worker: Worker): boolean {
    return this.slots.some((s) => s.worker === worker && s.ready);
  }

  /** Sends to every live, connected worker (e.g. `city:draining`). */
  broadcast(message: PrimaryMessage): void {
    for (const slot of this.slots) if (slot.worker) sendToWorker(slot.worker, message);
  }

  /** Asks every worker to shut down, SIGKILLs those still alive after timeoutMs, waits for all exits. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const live = this.slots.flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
    const exits = live.map((worker) => new Promise<void>((resolve) => worker.once("exit", () => resolve())));
    for (const worker of live) {
      if (worker.isConnected()) sendToWorker(worker, { cmd: "city:shutdown" });
      else worker.process.kill("SIGTERM");
    }
    const force = setTimeout(() => {
      for (const worker of live) {
        if (worker.isDead()) continue;
        this.opts.log("warn", "worker did not stop in time; killing it", { pid: worker.process.pid });
        worker.process.kill("SIGKILL");
      }
    }, timeoutMs);
    await Promise.all(exits);
    clearTimeout(force);
    for (const off of this.unsubscribe) off();
  }

  private slotOf(worker: Worker): Slot | undefined {
    return this.slots.find((s) => s.worker === worker);
  }

  private onReady(worker: Worker): void {
    const slot = this.slotOf(worker);
    if (!slot) return;
    slot.ready = true;
    this.opts.log("info", "worker ready", { slot: slot.id, pid: worker.process.pid });
    if (this.starting && this.slots.every((s) => s.ready)) {
      this.starting.resolve();
      this.starting = undefined;
    }
  }

  private fork(slot: Slot): void {
    const { workerScript, env } = this.opts;
    // Cluster settings are process-global: set them on every fork so a replacement uses ours.
    cluster.setupPrimary({ exec: workerScript, execArgv: execArgvFor(workerScript), serialization: "advanced" });
    const worker = cluster.fork({ ...env, [ENV_WORKER_ID]: String(slot.id) });
    slot.worker = worker;
    slot.ready = false;
    slot.stopping = false;
    slot.forkedAt = Date.now();
    if (!this.internalsChecked) {
      this.internalsChecked = true;
      const problem = checkChildProcessInternals(worker);
      if (problem && this.starting) {
        this.starting.reject(new Error(problem));
        this.starting = undefined;
      }
    }
    // An IPC write to a dying worker errors here; its 'exit' follows and is what we act on.
    worker.on("error", (err) => this.opts.log("warn", "worker error", { slot: slot.id, err: err.message }));
    worker.on("exit", (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const stranded = closeStrandedHandles(worker);
    if (stranded > 0) this.opts.log("warn", "closed connections sent to a worker that died", { slot: slot.id, count: stranded });
    if (slot.worker !== worker) return;
    const wasReady = slot.ready;
    slot.worker = undefined;
    slot.ready = false;
    if (this.stopping) return;
    const pid = worker.process.pid;
    if (this.starting && !wasReady) {
      this.starting.reject(new Error(`worker ${slot.id} (pid ${pid}) exited during start-up (code ${code}, signal ${signal})`));
      this.starting = undefined;
      return;
    }
    this.opts.log("warn", "worker died; replacing it", { slot: slot.id, pid, code, signal });
    const crashLooping = !wasReady || Date.now() - slot.forkedAt < CRASH_LOOP_MS;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopping) this.fork(slot);
    }, crashLooping ? REPLACE_DELAY_MS : 0);
    this.timers.add(timer);
  }
}

/**
 * A .ts worker needs the tsx loader. It is normally inherited through execArgv (npm start, mocha's
 * node-option); add it when the primary itself was started some other way.
 */
function execArgvFor(workerScript: string): string[] {
  const inherited = process.execArgv;
  const isTs = /\.[cm]?ts$/.test(workerScript);
  return isTs && !inherited.some((arg) => arg.includes("tsx")) ? [...inherited, "--import", "tsx"] : inherited;
}
