// The one place where errors become HTTP responses (CONTRACT §6 error shape). Bad input of any
// kind gets a clear JSON error; stacks and internal messages never reach the client.
import type { Context, Next } from "koa";
import { AppError, errorBody, toAppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { SEND_JSON } from "./validate.js";

/** Errors thrown by koa-body / co-body / Koa itself carry a status and a type. */
function fromHttpError(err: { status?: number; statusCode?: number; type?: string; expose?: boolean }): AppError | undefined {
  const status = err.status ?? err.statusCode;
  if (!status || status >= 500) return undefined;
  if (status === 413) return new AppError("payload_too_large", "Request body is too large");
  if (status === 415) return new AppError("unsupported_media_type", `Unsupported request body encoding; ${SEND_JSON}`);
  if (status === 400) {
    if (err.type === "entity.parse.failed" || err.type === undefined || err.type === "encoding.unsupported") {
      return new AppError("invalid_json", "Request body is not valid JSON");
    }
    return new AppError("validation_failed", "Malformed request");
  }
  if (status === 404) return new AppError("not_found", "Not found");
  if (status === 401) return new AppError("unauthorized", "Authentication required");
  if (status === 403) return new AppError("forbidden", "Forbidden");
  if (status === 405) return new AppError("method_not_allowed", "Method not allowed on this path");
  return undefined;
}

export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new AppError("not_found", `No route for ${ctx.method} ${ctx.path}`);
      }
      // A status set without a body (the router's 405 for a wrong method) still gets the JSON
      // error shape rather than Koa's plain-text status line.
      if (ctx.status >= 400 && ctx.body == null) {
        throw fromHttpError({ status: ctx.status }) ?? new AppError("internal", "Internal server error");
      }
    } catch (raw) {
      const err = raw instanceof AppError ? raw : (fromHttpError(raw as never) ?? toAppError(raw));
      // Only a bug gets a line (with its stack) here. An expected 5xx (a dependency away, the agent
      // failing or slow) is told by the request's own log line, which carries its status.
      if (err.code === "internal") logger.error({ err: raw, path: ctx.path, method: ctx.method, reqId: (ctx.state as { reqId?: string }).reqId }, "request failed");
      ctx.status = err.status;
      ctx.type = "application/json";
      ctx.body = errorBody(err);
      const retry = err.details?.retryAfter;
      if (typeof retry === "number") ctx.set("Retry-After", String(Math.ceil(retry)));
    }
  };
}
