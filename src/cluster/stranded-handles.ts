// When a worker dies while a connection handle is on its way to it, Node never closes that handle:
// the primary keeps its copy until the worker's NODE_HANDLE_ACK, and when the IPC channel ends
// with an ACK outstanding, ChildProcess#disconnect() skips the clean-up that closes it (it waits
// for a queue that will never drain). The client's connection then hangs forever, unanswered.
// This closes them, through the same private fields Node's own closePendingHandle() uses.
import type { Worker } from "node:cluster";

interface ChildProcessInternals {
  /** The handle sent and not yet acknowledged (a native TCP handle). */
  _pendingMessage?: { handle?: { close?: () => void } | null } | null;
  /** Sends waiting for that acknowledgement (their handles are still net.Sockets). */
  _handleQueue?: Array<{ handle?: { destroy?: () => void } | null }> | null;
}

/** Call once the worker has exited: nothing sent to it can be acknowledged any more. */
export function closeStrandedHandles(worker: Worker): number {
  const child = worker.process as unknown as ChildProcessInternals;
  let closed = 0;
  const pending = child._pendingMessage;
  if (pending?.handle?.close) {
    pending.handle.close();
    child._pendingMessage = null;
    closed++;
  }
  // The queue itself stays: Node asserts it is an array if a late ACK still arrives.
  for (const queued of child._handleQueue ?? []) {
    if (queued.handle?.destroy) {
      queued.handle.destroy();
      closed++;
    }
  }
  return closed;
}
