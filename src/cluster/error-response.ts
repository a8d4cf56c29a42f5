// The front door's own answers, written on the raw socket before any worker has the connection
// (no worker ready, a request line or head too long): a whole HTTP/1.1 response with the
// contract's JSON error body (CONTRACT §6, §11: the message also at the top level, where the
// existing front end reads it). The primary loads no HTTP framework, so this stays a string.
import { ERRORS, type ErrorCode } from "../core/errors.js";

const REASONS: Record<number, string> = { 414: "URI Too Long", 431: "Request Header Fields Too Large", 503: "Service Unavailable" };

export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): string {
  const status = ERRORS[code].status;
  const body = JSON.stringify({ error: { code, message }, message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\nContent-Type: application/json\r\n${extra}` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
