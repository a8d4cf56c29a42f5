// GET /metrics (CONTRACT §6): Prometheus text for the whole cluster, at every prefix, without a
// token, like /healthz. It says nothing about users beyond counts; restrict it at the proxy if
// even those should stay private (docs/deployment.md).
import Router from "@koa/router";
import { Registry } from "prom-client";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";

export interface MetricsRouterDeps {
  /** Every worker's metrics, summed (cluster-metrics.ts). */
  readonly workers: () => Promise<string>;
  /** Cluster-wide values read from Redis (shared-metrics.ts). */
  readonly shared: { render(): Promise<string> };
  readonly logger: Logger;
}

export function createMetricsRouter(deps: MetricsRouterDeps): Router {
  const router = new Router();
  router.get("/metrics", async (ctx) => {
    let text: string;
    try {
      const [workers, shared] = await Promise.all([deps.workers(), deps.shared.render()]);
      text = workers + (workers.endsWith("\n") || !workers ? "" : "\n") + shared;
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, "metrics scrape failed");
      throw new AppError("unavailable", "Metrics are unavailable right now");
    }
    ctx.type = Registry.PROMETHEUS_CONTENT_TYPE;
    ctx.body = text;
  });
  return router;
}
