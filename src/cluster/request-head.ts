// Reading just enough of an HTTP request to route it: the request line, and for sticky requests
// the whole head. Pure functions over bytes, so the front door stays a thin I/O shell.

/** Socket.IO's default path. Only requests under it that carry a session id need stickiness. */
export const SOCKET_IO_PREFIX = "/socket.io/";

/** A request line longer than this is not worth waiting for (Node's whole head limit is 16 KB). */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;
/** Node's default --max-http-header-size: a longer head would be refused by the worker anyway. */
export const MAX_HEAD_BYTES = 16 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * The request-target of the first request line in `bytes`, or undefined while the line is not
 * complete. A malformed line gives "" so the connection goes whole to a worker, whose HTTP parser
 * answers 400 as it would without the front door.
 */
export function requestTarget(bytes: Buffer): string | undefined {
  // RFC 9112 §2.2: a server should ignore empty lines received before the request line.
  let start = 0;
  while (start < bytes.length && (bytes[start] === CR || bytes[start] === LF)) start++;
  const end = bytes.indexOf(LF, start);
  if (end < 0) return undefined;
  const parts = bytes.toString("latin1", start, end).trim().split(" ");
  return parts.length === 3 ? parts[1]! : "";
}

/** True when the head (request line and headers) is complete in `bytes`. */
export function headComplete(bytes: Buffer): boolean {
  return bytes.includes(HEAD_END);
}

/**
 * Socket.IO long-polling requests and the WebSocket upgrade that follows them carry `sid=` and
 * must reach the worker holding that session. Everything else (REST, the raw-ws shim, handshakes,
 * websocket-only clients) can be served by any worker.
 */
export function needsSticky(target: string): boolean {
  if (!target.startsWith(SOCKET_IO_PREFIX)) return false;
  const query = target.indexOf("?");
  return query >= 0 && new URLSearchParams(target.slice(query + 1)).has("sid");
}
