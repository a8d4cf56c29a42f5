// Koa app factory: composes the middleware once. Public routers (health, metrics) run before
// authentication so a stale token never hides liveness; capability routers run after it.
import Koa from "koa";
import { koaBody } from "koa-body";
import type Router from "@koa/router";
import type { Logger } from "../core/logger.js";
import { authMiddleware } from "../auth/koa-auth.js";
import type { TokenVerifier } from "../auth/verify-token.js";
import { errorMiddleware } from "./error-middleware.js";
import { corsMiddleware } from "./cors.js";
import { prefixMiddleware } from "./prefix.js";

export interface HttpAppDeps {
  readonly logger: Logger;
  readonly verify: TokenVerifier;
  readonly corsOrigins: readonly string[] | "localhost";
  /** Routers served without authentication (health, metrics). */
  readonly publicRouters?: readonly Router[];
  /** Capability routers; each route is served at `/`, `/api` and `/v1`. */
  readonly routers: readonly Router[];
  /** Extra middleware mounted before the routers (for example bull-board). */
  readonly extra?: readonly Koa.Middleware[];
  /** Middleware that needs the caller's identity, run after authentication (rate limits). */
  readonly afterAuth?: readonly Koa.Middleware[];
  /** Middleware mounted before everything else (the request log: request id, latency). */
  readonly first?: readonly Koa.Middleware[];
  /** A value for the X-City-Worker header, so tests and operators can see which worker answered. */
  readonly workerId?: string;
}

/** Large enough for a 8,000-character prompt of 4-byte characters, small enough to refuse abuse. */
export const JSON_LIMIT = "64kb";

export function createHttpApp(deps: HttpAppDeps): Koa {
  // Behind a proxy, the client address is the last X-Forwarded-For entry (the one our proxy
  // added); earlier entries are whatever the client sent, and per-IP limits must not trust them.
  const app = new Koa({ proxy: true, maxIpsCount: 1 });
  app.silent = true;
  for (const m of deps.first ?? []) app.use(m);
  if (deps.workerId) {
    const id = deps.workerId;
    app.use(async (ctx, next) => {
      ctx.set("X-City-Worker", id);
      await next();
    });
  }
  app.use(errorMiddleware(deps.logger));
  app.use(corsMiddleware(deps.corsOrigins));
  app.use(prefixMiddleware);
  for (const r of deps.publicRouters ?? []) app.use(r.routes());
  for (const m of deps.extra ?? []) app.use(m);
  app.use(koaBody({ jsonLimit: JSON_LIMIT, text: false, urlencoded: false, multipart: false, jsonStrict: false }));
  app.use(authMiddleware(deps.verify));
  for (const m of deps.afterAuth ?? []) app.use(m);
  for (const r of deps.routers) {
    app.use(r.routes());
    app.use(r.allowedMethods());
  }
  return app;
}
