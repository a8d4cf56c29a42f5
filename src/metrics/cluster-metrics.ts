// A worker's part of /metrics for the whole API cluster (the primary's part, and why it is split
// so, is src/cluster/metrics-relay.ts): answer the primary's collections from this worker's
// registry, and for a scrape ask the primary for every serving worker's registry and sum them with
// prom-client's cluster aggregation (AggregatorRegistry.aggregate knows how to combine each metric
// type).
import cluster from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import { onPrimaryMessage, sendToPrimary, type MetricsJson } from "../cluster/messages.js";
import { COLLECT_TIMEOUT_MS } from "../cluster/metrics-relay.js";

/** How long the asking worker waits for the primary (longer than its collection). */
const REPLY_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 2_000;

/**
 * Returns how this process gets the per-worker metrics of the whole cluster: through the primary
 * in a cluster worker; its own registry otherwise (an app built in-process by a test). The
 * primary asks only workers that said they are ready, which they do once the app (and so this) is
 * set up.
 */
export function clusterScraper(local: Registry): () => Promise<string> {
  if (!cluster.isWorker || !process.send) return () => local.metrics();
  onPrimaryMessage("city:metrics-collect", ({ id }) => {
    local.getMetricsAsJSON().then(
      (metrics) => sendToPrimary({ cmd: "city:metrics-collected", id, metrics: metrics as MetricsJson }),
      () => sendToPrimary({ cmd: "city:metrics-collected", id, metrics: [] }),
    );
  });

  let next = 0;
  const pending = new Map<number, (parts: MetricsJson[] | undefined, error?: string) => void>();
  onPrimaryMessage("city:metrics-parts", ({ id, parts, error }) => {
    const waiter = pending.get(id);
    pending.delete(id);
    waiter?.(parts, error);
  });

  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("cluster metrics: the primary did not answer"));
      }, REPLY_TIMEOUT_MS);
      pending.set(id, (parts, error) => {
        clearTimeout(timer);
        if (!parts) return reject(new Error(`cluster metrics: ${error ?? "no answer"}`));
        try {
          AggregatorRegistry.aggregate(parts).metrics().then(resolve, reject);
        } catch (err) {
          reject(err as Error); // a malformed registry fails this scrape, nothing else
        }
      });
      if (!sendToPrimary({ cmd: "city:metrics-request", id })) {
        clearTimeout(timer);
        pending.delete(id);
        reject(new Error("cluster metrics: not in a cluster worker"));
      }
    });
}
