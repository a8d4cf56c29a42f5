// /metrics for the whole API cluster. The primary owns the port but serves no HTTP, so a scrape
// lands on some worker; that worker asks the primary over IPC; the primary collects every live
// worker's registry (as JSON) and sums them with prom-client's cluster aggregation
// (AggregatorRegistry.aggregate, which knows how to combine each metric type); the text goes back
// to the asking worker. prom-client's own clusterMetrics() is not used: it waits for every worker
// it asked, so one that exits mid-scrape (a restart, a graceful stop) failed the scrape. Here a
// worker that exits or disconnects is simply left out, and only serving workers are asked: a
// replacement still loading its modules (seconds on a busy machine) cannot answer yet, has
// counted nothing, and must not fail the scrape by making it wait.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from "prom-client";
import { cmdOf } from "../cluster/messages.js";

/** Worker → primary: aggregate every worker's metrics for me. */
export const METRICS_REQUEST = "city:metrics";
/** Primary → worker: the aggregated text, or why there is none. */
export const METRICS_REPLY = "city:metrics-reply";
/** Primary → worker: send me your registry. */
export const METRICS_COLLECT = "city:metrics-collect";
/** Worker → primary: its registry as JSON. */
export const METRICS_COLLECTED = "city:metrics-collected";

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

interface Request {
  cmd: string;
  id: number;
}
interface Reply extends Request {
  text?: string;
  error?: string;
}
interface Collected extends Request {
  metrics: MetricsJson;
}

/** How long the primary waits for the workers' registries. */
const COLLECT_TIMEOUT_MS = 7_000;
/** How long the asking worker waits for the primary (longer than the collection). */
const REPLY_TIMEOUT_MS = 9_000;

interface Collection {
  readonly waiting: Set<number>;
  readonly parts: MetricsJson[];
  finish(): void;
}

/**
 * In the cluster primary: answer workers' METRICS_REQUEST. `isServing` says which workers to ask
 * (the pool's ready ones). Returns an unsubscribe.
 */
export function serveClusterMetrics(isServing: (worker: Worker) => boolean): () => void {
  if (!cluster.isPrimary) throw new Error("serveClusterMetrics must run in the cluster primary");
  const collections = new Map<number, Collection>();
  let next = 0;

  const leftOut = (worker: Worker) => {
    for (const c of collections.values()) if (c.waiting.delete(worker.id) && c.waiting.size === 0) c.finish();
  };

  const collect = () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        collections.delete(id);
        reject(new Error(`workers ${[...collection.waiting].join(", ")} did not send their metrics in time`));
      }, COLLECT_TIMEOUT_MS);
      const collection: Collection = {
        waiting: new Set(),
        parts: [],
        finish() {
          clearTimeout(timer);
          collections.delete(id);
          try {
            AggregatorRegistry.aggregate(this.parts).metrics().then(resolve, reject);
          } catch (err) {
            reject(err as Error); // never let a bad registry throw in the primary
          }
        },
      };
      collections.set(id, collection);
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w?.isConnected()) && isServing(w!));
      for (const w of workers) collection.waiting.add(w.id);
      for (const w of workers) w.send({ cmd: METRICS_COLLECT, id } satisfies Request, (err: Error | null) => err && leftOut(w));
      if (workers.length === 0) collection.finish();
    });

  const onMessage = (worker: Worker, message: unknown) => {
    const cmd = cmdOf(message);
    if (cmd === METRICS_COLLECTED) {
      const { id, metrics } = message as Collected;
      const c = collections.get(id);
      if (!c?.waiting.delete(worker.id)) return;
      c.parts.push(metrics);
      if (c.waiting.size === 0) c.finish();
    } else if (cmd === METRICS_REQUEST) {
      const { id } = message as Request;
      const reply = (r: Omit<Reply, "cmd" | "id">) => {
        if (worker.isConnected()) worker.send({ cmd: METRICS_REPLY, id, ...r } satisfies Reply, () => {});
      };
      collect().then(
        (text) => reply({ text }),
        (err: Error) => reply({ error: err.message }),
      );
    }
  };
  cluster.on("message", onMessage);
  cluster.on("exit", leftOut);
  cluster.on("disconnect", leftOut);
  return () => {
    cluster.off("message", onMessage);
    cluster.off("exit", leftOut);
    cluster.off("disconnect", leftOut);
  };
}

/**
 * In a cluster worker: answer the primary's collections from `local`. The primary asks only
 * workers that said they are ready, which they do once the app (and so this) is set up.
 */
function answerCollections(local: Registry, send: NonNullable<typeof process.send>): void {
  process.on("message", (message: unknown) => {
    if (cmdOf(message) !== METRICS_COLLECT) return;
    const { id } = message as Request;
    local.getMetricsAsJSON().then(
      (m) => send({ cmd: METRICS_COLLECTED, id, metrics: m as MetricsJson } satisfies Collected, undefined, {}, () => {}),
      () => send({ cmd: METRICS_COLLECTED, id, metrics: [] } satisfies Collected, undefined, {}, () => {}),
    );
  });
}

/**
 * Returns how this process gets the per-worker metrics of the whole cluster: through the primary
 * in a cluster worker; its own registry otherwise (an app built in-process by a test).
 */
export function clusterScraper(local: Registry): () => Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return () => local.metrics();
  answerCollections(local, send);

  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on("message", (message: unknown) => {
    if (cmdOf(message) !== METRICS_REPLY) return;
    const reply = message as Reply;
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.text !== undefined) waiter.resolve(reply.text);
    else waiter.reject(new Error(`cluster metrics: ${reply.error ?? "no answer"}`));
  });

  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("cluster metrics: the primary did not answer"));
      }, REPLY_TIMEOUT_MS);
      pending.set(id, {
        resolve: (t) => (clearTimeout(timer), resolve(t)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      send({ cmd: METRICS_REQUEST, id } satisfies Request, undefined, {}, (err) => {
        if (!err) return;
        const waiter = pending.get(id);
        pending.delete(id);
        waiter?.reject(err);
      });
    });
}
