// Every domain error in one registry: a code and its HTTP status. HTTP (http/error-middleware.ts)
// and the sockets (realtime) map from here. An AppError's message is written for the client and
// always shown; anything else thrown becomes `internal` with a fixed message (toAppError), so a
// stack or a driver's message never reaches a client.

export const ERRORS = {
  validation_failed: { status: 400 },
  invalid_json: { status: 400 },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  not_found: { status: 404 },
  room_not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  slug_taken: { status: 409 },
  conflict: { status: 409 },
  payload_too_large: { status: 413 },
  uri_too_long: { status: 414 },
  unsupported_media_type: { status: 415 },
  rate_limited: { status: 429 },
  headers_too_large: { status: 431 },
  agent_failed: { status: 502 },
  agent_timeout: { status: 504 },
  unavailable: { status: 503 },
  internal: { status: 500 },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  override name = "AppError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = ERRORS[code].status;
  }
}

export const validation = (field: string, message: string) =>
  new AppError("validation_failed", message, { field });

/** The wire shape of an error body (CONTRACT §6). */
export interface ErrorBody {
  error: { code: string; message: string; field?: string; retry_after?: number };
}

// 57014: a statement cancelled by statement_timeout (an overloaded or stuck server).
const PG_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "57P01", "57P03", "53300", "57014"]);

/** True when an error says a dependency (PostgreSQL, Redis) cannot be reached right now. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown; name?: string } | undefined;
  if (!e) return false;
  if (e.code && PG_UNAVAILABLE.has(e.code)) return true;
  // ioredis while Redis is away: a command that outlived its reconnect attempts or its timeout.
  if (e.name === "MaxRetriesPerRequestError") return true;
  if (/^Command timed out$|Stream isn't writeable/.test(e.message ?? "")) return true;
  if (e.name === "DriverAdapterError" || e.name === "PrismaClientKnownRequestError") {
    if (/connect|terminat|timeout|ECONNREFUSED|pool/i.test(e.message ?? "")) return true;
  }
  if (/Connection terminated|connect ECONNREFUSED|Connection is closed|timeout exceeded when trying to connect|Query read timeout/i.test(e.message ?? "")) return true;
  return e.cause !== undefined && e.cause !== err ? isUnavailable(e.cause) : false;
}

/** Turns anything thrown into an AppError; unknown errors become an unexposed internal one. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnavailable(err)) return new AppError("unavailable", "A backing service is unavailable; try again shortly");
  return new AppError("internal", "Internal server error");
}

/** An error body that also carries the message at the top level (CONTRACT §11: the front end's
 *  API client reads `body.message`). */
export interface FlatErrorBody extends ErrorBody {
  message: string;
}

export function flatErrorBody(err: AppError): FlatErrorBody {
  return { ...errorBody(err), message: err.message };
}

export function errorBody(err: AppError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  const field = err.details?.field;
  if (typeof field === "string") body.error.field = field;
  const retry = err.details?.retryAfter;
  if (typeof retry === "number") body.error.retry_after = retry;
  return body;
}
