// /metrics for the whole API cluster (prom-client's cluster aggregation). The primary owns the
// port but serves no HTTP, so a scrape lands on some worker; that worker asks the primary over
// IPC, the primary's AggregatorRegistry collects every worker's registry (prom-client's own IPC
// request) and sums them, and the answer goes back to the asking worker.
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import { cmdOf } from "../cluster/messages.js";

/** Worker → primary: aggregate every worker's metrics for me. */
export const METRICS_REQUEST = "city:metrics";
/** Primary → worker: the aggregated text, or why there is none. */
export const METRICS_REPLY = "city:metrics-reply";

interface MetricsRequest {
  cmd: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsReply {
  cmd: typeof METRICS_REPLY;
  id: number;
  text?: string;
  error?: string;
}

/** Longer than prom-client's own 5 s wait for the workers. */
const REPLY_TIMEOUT_MS = 8_000;

/** In the cluster primary: answer workers' METRICS_REQUEST. Returns an unsubscribe. */
export function serveClusterMetrics(): () => void {
  if (!cluster.isPrimary) throw new Error("serveClusterMetrics must run in the cluster primary");
  const aggregator = new AggregatorRegistry();
  const onMessage = (worker: Worker, message: unknown) => {
    if (cmdOf(message) !== METRICS_REQUEST) return;
    const { id } = message as MetricsRequest;
    const reply = (r: Omit<MetricsReply, "cmd" | "id">) => {
      if (worker.isConnected()) worker.send({ cmd: METRICS_REPLY, id, ...r } satisfies MetricsReply, () => {});
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
  };
  cluster.on("message", onMessage);
  return () => cluster.off("message", onMessage);
}

/**
 * Returns how this process gets the per-worker metrics of the whole cluster: through the primary
 * in a cluster worker; its own registry otherwise (an app built in-process by a test).
 */
export function clusterScraper(local: Registry): () => Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return () => local.metrics();

  // The registry prom-client's worker-side listener (installed by constructing an
  // AggregatorRegistry) reports to the primary.
  AggregatorRegistry.setRegistries([local]);
  new AggregatorRegistry();

  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on("message", (message: unknown) => {
    if (cmdOf(message) !== METRICS_REPLY) return;
    const reply = message as MetricsReply;
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
      send({ cmd: METRICS_REQUEST, id } satisfies MetricsRequest, undefined, {}, (err) => {
        if (!err) return;
        const waiter = pending.get(id);
        pending.delete(id);
        waiter?.reject(err);
      });
    });
}
