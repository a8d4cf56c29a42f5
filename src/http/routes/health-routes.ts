// Liveness and readiness (CONTRACT §6). Liveness says only that this process answers; readiness
// says PostgreSQL and Redis answer and the process is not draining.
import Router from "@koa/router";

export interface ReadinessProbe {
  readonly name: string;
  check(): Promise<unknown>;
}

const PROBE_TIMEOUT_MS = 2_000;

function withTimeout(p: Promise<unknown>): Promise<unknown> {
  return Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), PROBE_TIMEOUT_MS).unref())]);
}

export function createHealthRouter(probes: readonly ReadinessProbe[], isDraining: () => boolean): Router {
  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const results = await Promise.all(
      probes.map(async (p) => {
        try {
          await withTimeout(p.check());
          return [p.name, "ok"] as const;
        } catch {
          return [p.name, "down"] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const ready = !isDraining() && results.every(([, s]) => s === "ok");
    ctx.status = ready ? 200 : 503;
    ctx.body = ready
      ? { status: "ready", checks }
      : { status: isDraining() ? "draining" : "unavailable", checks, error: { code: "unavailable", message: "Not ready to serve traffic" } };
  });
  return router;
}
