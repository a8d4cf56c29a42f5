// Every route lives at `/x`, `/api/x` and `/v1/x` (CONTRACT §6, §10). The prefix is stripped once
// here and remembered as the dialect: `/v1` speaks the existing front end's dialect.
import type { Context, Next } from "koa";

export type Dialect = "contract" | "v1";

export interface DialectState {
  dialect: Dialect;
}

export function stripPrefix(path: string): { path: string; dialect: Dialect } {
  if (path === "/v1" || path.startsWith("/v1/")) return { path: path.slice(3) || "/", dialect: "v1" };
  if (path === "/api" || path.startsWith("/api/")) return { path: path.slice(4) || "/", dialect: "contract" };
  return { path, dialect: "contract" };
}

export async function prefixMiddleware(ctx: Context, next: Next): Promise<void> {
  const { path, dialect } = stripPrefix(ctx.path);
  (ctx.state as DialectState).dialect = dialect;
  if (path !== ctx.path) ctx.path = path;
  await next();
}

export const dialectOf = (ctx: Context): Dialect => (ctx.state as DialectState).dialect ?? "contract";
