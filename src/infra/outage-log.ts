// One log line when a dependency becomes unreachable and one when it is back, per process, however
// many connections notice and however often they retry. Before, a Redis outage printed four
// "presence sweep failed" lines every ~1.6 s per process for as long as it lasted, and a failed
// reconnect of any connection could not be told from a bug.
import type { Logger } from "../core/logger.js";

export interface OutageLog {
  /** A connection lost its server; it reconnects by itself. Opens the outage if none is open. */
  connectionLost(name: string): void;
  /** That connection is ready again. Closes the outage once no connection is still lost. */
  connectionBack(name: string): void;
  /** A call failed because the dependency is away. Opens the outage if none is open; else silent. */
  failed(source: string, err?: unknown): void;
  /** A call reached the dependency. Closes the outage once no connection is still lost. */
  succeeded(): void;
  /** True while an outage is open. */
  readonly down: boolean;
}

const reason = (err: unknown) => (err instanceof Error ? err.message : err === undefined ? undefined : String(err));

export function createOutageLog(logger: Logger, dependency: string): OutageLog {
  const log = logger.child({ module: "outage", dependency });
  const lost = new Set<string>();
  let since: number | undefined;
  let failures = 0;

  const open = (source: string, err?: unknown) => {
    failures++;
    if (since !== undefined) return;
    since = Date.now();
    log.warn({ source, err: reason(err) }, `${dependency} is unreachable; retrying quietly until it is back`);
  };
  const close = () => {
    if (since === undefined || lost.size > 0) return;
    log.info({ downMs: Date.now() - since, failures }, `${dependency} is reachable again`);
    since = undefined;
    failures = 0;
  };

  return {
    connectionLost(name) {
      lost.add(name);
      open(name);
    },
    connectionBack(name) {
      lost.delete(name);
      close();
    },
    failed: open,
    succeeded: close,
    get down() {
      return since !== undefined;
    },
  };
}
