// The primary's part of /metrics for the whole API cluster. The primary owns the port but serves no
// HTTP, so a scrape lands on some worker; that worker asks the primary (`city:metrics-request`),
// the primary collects every serving worker's registry as JSON and sends the parts back
// (`city:metrics-parts`), and the asking worker sums them with prom-client's cluster aggregation
// (src/metrics/cluster-metrics.ts). The summing happens in the worker, which has prom-client
// loaded anyway, so the primary stays a router. prom-client's own clusterMetrics() is not used:
// it waits for every worker it asked, so one that exits mid-scrape (a restart, a graceful stop)
// failed the scrape. Here a worker that exits or disconnects is simply left out, and only serving
// workers are asked: a replacement still loading its modules cannot answer yet, has counted
// nothing, and must not fail the scrape by making it wait.
import cluster, { type Worker } from "node:cluster";
import { onWorkerMessage, sendToWorker, type MetricsJson } from "./messages.js";

/** How long the primary waits for the workers' registries (the asking worker waits longer). */
export const COLLECT_TIMEOUT_MS = 7_000;

interface Collection {
  readonly waiting: Set<number>;
  readonly parts: MetricsJson[];
  finish(): void;
}

/** Answers workers' metrics requests. `isServing` says which workers to ask. Returns a stop. */
export function serveMetricsRelay(isServing: (worker: Worker) => boolean): () => void {
  const collections = new Map<number, Collection>();
  let next = 0;

  const leftOut = (worker: Worker) => {
    for (const c of collections.values()) if (c.waiting.delete(worker.id) && c.waiting.size === 0) c.finish();
  };

  const collect = (answer: (parts: MetricsJson[] | undefined, error?: string) => void) => {
    const id = next++;
    const timer = setTimeout(() => {
      collections.delete(id);
      answer(undefined, `workers ${[...collection.waiting].join(", ")} did not send their metrics in time`);
    }, COLLECT_TIMEOUT_MS);
    const collection: Collection = {
      waiting: new Set(),
      parts: [],
      finish() {
        clearTimeout(timer);
        collections.delete(id);
        answer(this.parts);
      },
    };
    collections.set(id, collection);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w?.isConnected()) && isServing(w!));
    for (const w of workers) collection.waiting.add(w.id);
    for (const w of workers) sendToWorker(w, { cmd: "city:metrics-collect", id }, undefined, (err) => err && leftOut(w));
    if (workers.length === 0) collection.finish();
  };

  const offs = [
    onWorkerMessage("city:metrics-collected", (worker, { id, metrics }) => {
      const c = collections.get(id);
      if (!c?.waiting.delete(worker.id)) return;
      c.parts.push(metrics);
      if (c.waiting.size === 0) c.finish();
    }),
    onWorkerMessage("city:metrics-request", (worker, { id }) =>
      collect((parts, error) => sendToWorker(worker, { cmd: "city:metrics-parts", id, ...(parts ? { parts } : { error }) })),
    ),
  ];
  cluster.on("exit", leftOut);
  cluster.on("disconnect", leftOut);
  return () => {
    for (const off of offs) off();
    cluster.off("exit", leftOut);
    cluster.off("disconnect", leftOut);
  };
}
