// Errors answered below Koa, on the raw socket: a request line or head too large or malformed to
// parse never reaches the error middleware, yet still gets the JSON error shape (CONTRACT §6)
// rather than a bare status line or a reset.
import type http from "node:http";
import type { Duplex } from "node:stream";
import { ERRORS, type ErrorCode } from "../core/errors.js";

const REASONS: Record<number, string> = { 400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large" };

/** A whole HTTP/1.1 response with a JSON error body; the connection closes after it. */
export function rawErrorResponse(code: ErrorCode, message: string): string {
  const status = ERRORS[code].status;
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
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
