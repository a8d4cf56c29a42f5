// Koa app factory: composes the middleware once. Public routers (health, metrics) run before
// authentication so a stale token never hides liveness; capability routers run after it.
import Koa from "koa";
import { koaBody } from "koa-body";
import type Router from "@koa/router";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { authMiddleware } from "../auth/koa-auth.js";
import type { TokenVerifier } from "../auth/verify-token.js";
import { errorMiddleware } from "./error-middleware.js";
import { corsMiddleware } from "./cors.js";
import { prefixMiddleware } from "./prefix.js";
import { SEND_JSON } from "./validate.js";

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

/** Content types whose bodies are JSON. */
const JSON_TYPES = ["application/json", "application/*+json", "application/csp-report"];
/** What clients send when they leave the Content-Type out: `fetch` with a string body sends
 *  text/plain;charset=UTF-8, `curl -d` sends application/x-www-form-urlencoded. Such a body is read
 *  as JSON when it parses as JSON; otherwise it is refused with 415. */
const LENIENT_TYPES = ["text/plain", "application/x-www-form-urlencoded"];
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * The JSON body parser of every capability route: JSON content types are parsed as before (a
 * malformed body is 400 invalid_json); a text/plain or form body that parses as JSON is taken as
 * if it were application/json; any other body (or a text one that is not JSON) is 415
 * unsupported_media_type naming Content-Type: application/json. The 64kb limit (413) holds for all.
 * Authentication is by the Authorization header only, so accepting these "simple" content types
 * does not let another site post on a user's behalf.
 */
export function jsonBody(): Koa.Middleware {
  const common = { jsonLimit: JSON_LIMIT, jsonStrict: false, text: false, urlencoded: false, multipart: false } as const;
  const declared = koaBody({ ...common, jsonTypes: JSON_TYPES });
  const lenient = koaBody({
    ...common,
    jsonTypes: LENIENT_TYPES,
    onError(err) {
      // Not JSON: co-body's parse errors are 400s without a `type` (raw-body's own errors, such
      // as 413 or a body shorter than its Content-Length, have one and stay as they are). The
      // prototype-poisoning refusal is a JSON error, as it is for application/json.
      const { status, type } = err as { status?: number; type?: string };
      if (status === 400 && type === undefined && !/prototype/i.test(err.message)) {
        throw new AppError("unsupported_media_type", `The request body is not JSON; ${SEND_JSON}`);
      }
      throw err;
    },
  });
  return async function parseJsonBody(ctx, next) {
    if (!BODY_METHODS.has(ctx.method)) return next();
    // No body at all (Content-Length: 0 or none): the route decides whether it needs one.
    const length = ctx.request.length;
    if (ctx.get("transfer-encoding") === "" && !length) return next();
    // A body without a Content-Type is read as a text/plain one would be.
    if (!ctx.get("content-type")) ctx.req.headers["content-type"] = "text/plain";
    if (ctx.is(JSON_TYPES)) return declared(ctx, next);
    if (ctx.is(LENIENT_TYPES)) return lenient(ctx, next);
    const type = ctx.request.type.slice(0, 100);
    throw new AppError("unsupported_media_type", `Content-Type ${JSON.stringify(type)} is not supported; ${SEND_JSON}`);
  };
}

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
  app.use(jsonBody());
  app.use(authMiddleware(deps.verify));
  for (const m of deps.afterAuth ?? []) app.use(m);
  for (const r of deps.routers) {
    app.use(r.routes());
    app.use(r.allowedMethods());
  }
  return app;
}
