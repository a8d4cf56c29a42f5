// CORS allowlist (CONTRACT §2): the front end sends credentials, so an allowed origin is echoed,
// never `*`. In development any localhost origin is allowed. Plus a few security headers.
import type { Context, Next } from "koa";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function isLocalOrigin(origin: string): boolean {
  try {
    return LOCAL_HOSTS.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/** Whether a browser origin may call us with credentials (HTTP and Socket.IO share this). */
export function createOriginCheck(allowed: readonly string[] | "localhost"): (origin: string) => boolean {
  const list = allowed === "localhost" ? undefined : new Set(allowed);
  return (origin) => (list ? list.has(origin) : isLocalOrigin(origin));
}

export function corsMiddleware(allowed: readonly string[] | "localhost") {
  const ok = createOriginCheck(allowed);
  return async function cors(ctx: Context, next: Next): Promise<void> {
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("X-Frame-Options", "DENY");
    ctx.set("Referrer-Policy", "no-referrer");
    const origin = ctx.get("origin");
    if (origin) {
      ctx.vary("Origin");
      if (ok(origin)) {
        ctx.set("Access-Control-Allow-Origin", origin);
        ctx.set("Access-Control-Allow-Credentials", "true");
        ctx.set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate, X-Request-Id, X-City-Worker");
      }
    }
    if (ctx.method === "OPTIONS" && ctx.get("access-control-request-method")) {
      if (origin && ok(origin)) {
        ctx.set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        ctx.set("Access-Control-Allow-Headers", ctx.get("access-control-request-headers") || "Authorization, Content-Type");
        ctx.set("Access-Control-Max-Age", "600");
      }
      ctx.status = 204;
      return;
    }
    await next();
  };
}
