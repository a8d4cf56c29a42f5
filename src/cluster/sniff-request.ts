// Reads the first bytes of a new connection in the primary, just enough to route it, then stops
// reading so that no byte is consumed that the worker taking over the connection would need.
import type { Socket } from "node:net";
import { errorResponse } from "./error-response.js";
import { stopReading } from "./node-internals.js";
import { MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES, headComplete, needsSticky, requestTarget } from "./request-head.js";

/**
 * Long enough for a browser's speculative pre-connection to send its first request (they idle a
 * few seconds), short enough that idle or non-HTTP connections do not pile up in the primary.
 */
export const SNIFF_TIMEOUT_MS = 10_000;

export interface Sniffed {
  /** Every byte read so far; the new owner of the connection must see them first. */
  head: Buffer;
  sticky: boolean;
}

/**
 * Calls `done` once the request line is in (and, for a sticky request, the whole head, because
 * @socket.io/sticky decides from its first chunk whether a body follows). Answers 414/431 when the
 * request line or head is too long; destroys the socket when it is too slow or the peer goes away.
 */
export function sniffRequest(socket: Socket, done: (sniffed: Sniffed) => void): void {
  let bytes: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
  const stop = () => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", stop);
  };
  const refuse = (response: string) => {
    stop();
    stopReading(socket);
    socket.end(response);
  };
  const onData = (chunk: Buffer) => {
    bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
    const target = requestTarget(bytes);
    // Too long: a clear JSON answer rather than a reset the client cannot explain.
    if (target === undefined) {
      if (bytes.length > MAX_REQUEST_LINE_BYTES) refuse(errorResponse("uri_too_long", `The request line is over ${MAX_REQUEST_LINE_BYTES} bytes`));
      return;
    }
    const sticky = needsSticky(target);
    if (sticky && !headComplete(bytes)) {
      if (bytes.length > MAX_HEAD_BYTES) refuse(errorResponse("headers_too_large", `The request head is over ${MAX_HEAD_BYTES} bytes`));
      return;
    }
    stop();
    stopReading(socket);
    // Chunks can only be buffered if the stream was paused mid-flow; take them along.
    if (socket.readableLength > 0) {
      const rest = socket.read() as Buffer | null;
      stopReading(socket);
      if (rest) bytes = Buffer.concat([bytes, rest]);
    }
    done({ head: bytes, sticky });
  };
  // A reset while the primary holds the socket must not become an unhandled 'error' that kills the
  // primary; this listener stays for as long as the primary holds the socket.
  socket.on("error", () => socket.destroy());
  socket.on("close", stop);
  socket.on("data", onData);
}
