// One JSON log line per HTTP request, with a request id that follows the request into its jobs,
// and the request's duration into the latency histogram. Mounted first, so it sees the final
// status the error middleware chose. Logged: method, route pattern, path (never the query: tokens
// may ride there), status, duration. Never headers or bodies.
import { randomUUID } from "node:crypto";
import type { Context, Next } from "koa";
import type { Logger } from "../core/logger.js";

export const REQUEST_ID_HEADER = "X-Request-Id";

/** A caller's id is kept when it is short and plain; anything else gets a fresh one. */
const SANE_ID = /^[A-Za-z0-9._:@+=\/-]{1,128}$/;

export interface RequestState {
  /** This request's id (also in the X-Request-Id response header). */
  reqId: string;
  /** A child logger carrying reqId. */
  log: Logger;
}

export interface RequestLogOptions {
  readonly logger: Logger;
  /** Called once per request with the router pattern (or a fixed stand-in), never the raw path. */
  readonly observe?: (method: string, route: string, status: number, seconds: number) => void;
}

/** Probes and scrapes arrive every few seconds: logged at debug so they do not drown the rest. */
const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

export function requestIdOf(header: string | undefined): string {
  return header && SANE_ID.test(header) ? header : randomUUID();
}

/** The pattern @koa/router matched, or a bounded stand-in for paths no router matched. */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === "string") return matched;
  if (ctx.path === "/admin/queues" || ctx.path.startsWith("/admin/queues/")) return "/admin/queues";
  return "unmatched";
}

export function requestLog(opts: RequestLogOptions) {
  const logger = opts.logger.child({ module: "http" });
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const reqId = requestIdOf(ctx.get(REQUEST_ID_HEADER) || undefined);
    const state = ctx.state as RequestState;
    state.reqId = reqId;
    state.log = logger.child({ reqId });
    ctx.set(REQUEST_ID_HEADER, reqId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(ctx);
      const status = ctx.status;
      opts.observe?.(ctx.method, route, status, seconds);
      const line = { method: ctx.method, route, path: ctx.originalUrl.split("?")[0], status, ms: Math.round(seconds * 1e4) / 10 };
      if (QUIET_ROUTES.has(route)) state.log.debug(line, "request");
      else state.log.info(line, "request");
    }
  };
}
