// Errors answered below Koa, on the raw socket: a request line or head too large or malformed to
// parse, or a WebSocket upgrade refused, never reaches the error middleware, yet still gets the
// JSON error shape (CONTRACT §6, with the top-level message of §11) and its status, rather than a
// bare status line or a reset.
import http from "node:http";
import type { Duplex } from "node:stream";
import { AppError, flatErrorBody, type ErrorCode } from "../core/errors.js";

/** A whole HTTP/1.1 response with a JSON error body; the connection closes after it. */
export function rawErrorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): string {
  return rawAppErrorResponse(new AppError(code, message), headers);
}

export function rawAppErrorResponse(err: AppError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(flatErrorBody(err));
  const retry = err.details?.retryAfter;
  const all: Record<string, string> = {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
    ...(typeof retry === "number" ? { "Retry-After": String(Math.ceil(retry)) } : {}),
    ...headers,
    Connection: "close",
  };
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? "Error"}\r\n${head}\r\n${body}`;
}

/** Node's own parser errors (headers over 16 KB, bytes that are not HTTP) answered in JSON. */
export function answerClientErrors(server: http.Server): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    socket.end(
      tooLarge
        ? rawErrorResponse("headers_too_large", "Request headers are too large")
        : rawErrorResponse("validation_failed", "Malformed HTTP request"),
    );
  });
}
