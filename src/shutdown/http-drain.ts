// Finishing in-flight HTTP requests on shutdown. A cluster worker's server never listens (the
// primary hands it connections), so server.close() returns at once and cannot be what waits:
// the requests are counted here instead. Draining lets every request in flight complete, answers
// it with `Connection: close`, closes idle keep-alive connections as they become idle, and at the
// deadline closes whatever is left.
import type { IncomingMessage, Server, ServerResponse } from "node:http";

export interface HttpDrain {
  /** Requests being served right now. */
  readonly active: number;
  /** Resolves once no request is in flight, or at `deadline` (epoch ms); `forced` = cut short. */
  drain(deadline: number): Promise<{ forced: boolean }>;
}

/** Call before the server is handed to the cluster front door, so every request is counted. */
export function trackHttpRequests(server: Server): HttpDrain {
  const active = new Set<ServerResponse>();
  let draining = false;
  let onSettle: (() => void) | undefined;

  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    active.add(res);
    if (draining) res.shouldKeepAlive = false;
    res.once("close", () => {
      active.delete(res);
      if (!draining) return;
      // The connection of a response that finished may now be idle: close it (next tick, once
      // Node has marked it idle).
      setImmediate(() => server.closeIdleConnections());
      if (active.size === 0) onSettle?.();
    });
  });

  return {
    get active() {
      return active.size;
    },
    drain(deadline) {
      draining = true;
      // A listening server (an app built in-process) stops accepting; a cluster worker's server
      // never listened, its primary stopped handing over connections.
      server.close();
      // Responses not started yet go out with `Connection: close`.
      for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
      server.closeIdleConnections();
      if (active.size === 0) return Promise.resolve({ forced: false });
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          onSettle = undefined;
          server.closeAllConnections();
          resolve({ forced: true });
        }, Math.max(0, deadline - Date.now()));
        onSettle = () => {
          clearTimeout(timer);
          onSettle = undefined;
          resolve({ forced: false });
        };
      });
    },
  };
}
