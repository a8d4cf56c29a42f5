// The first step of a graceful stop with SHUTDOWN_DELAY_MS: the primary tells its workers that
// the machine is going away, so /readyz answers 503 `draining` while connections are still
// accepted; load balancers that probe readiness stop sending traffic before anything is refused.
// The shutdown proper follows (the cluster's `city:shutdown`).
import cluster from "node:cluster";
import { cmdOf } from "../cluster/messages.js";

/** Primary → worker: readiness goes false now; shutdown follows. */
export const DRAINING = "city:draining";

/** In the primary: tell every connected worker. */
export function announceDraining(): void {
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker?.isConnected()) worker.send({ cmd: DRAINING }, () => {});
  }
}

/** In a worker: call `onDraining` when the primary announces it. */
export function onDrainingNotice(onDraining: () => void): void {
  process.on("message", (message: unknown) => {
    if (cmdOf(message) === DRAINING) onDraining();
  });
}
