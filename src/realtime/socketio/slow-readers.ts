// engine.io queues a client's packets in memory for as long as its transport cannot take them,
// with no bound: a Socket.IO client that stops reading (a frozen tab, a dead mobile link the
// kernel has not noticed yet) grows its worker's memory with every broadcast until the ping
// timeout, tens of seconds later. This check cuts such a client off once its pending output
// passes the same bound the raw-ws shim applies per write.
import type { Server } from "socket.io";
import { MAX_PENDING_OUTPUT_BYTES } from "../connection.js";

const CHECK_EVERY_MS = 1_000;

/** What the check needs of an engine.io connection (engine.io's Socket, not part of its types). */
interface EngineConn {
  readonly writeBuffer?: readonly { data?: unknown }[];
  readonly transport?: { readonly socket?: { readonly bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

const size = (data: unknown): number => (typeof data === "string" ? data.length : data instanceof Uint8Array ? data.byteLength : 0);

/** Bytes waiting to reach the client: engine.io's queue plus what the WebSocket holds (polling: the queue). */
function pendingBytes(conn: EngineConn): number {
  let n = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const p of conn.writeBuffer ?? []) n += size(p.data);
  return n;
}

/** Starts the periodic check; returns its stop. */
export function watchSlowReaders(io: Server, onDrop: () => void, limit = MAX_PENDING_OUTPUT_BYTES): () => void {
  const timer = setInterval(() => {
    // engine.io keeps its connections in a plain object keyed by id.
    for (const conn of Object.values((io.engine as unknown as { clients: Record<string, EngineConn> }).clients)) {
      if (pendingBytes(conn) <= limit) continue;
      onDrop();
      // Not close(): it waits for the queue to drain, which this client will never do.
      const ws = conn.transport?.socket;
      if (typeof ws?.terminate === "function") ws.terminate();
      else conn.close(true);
    }
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
