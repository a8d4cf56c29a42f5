// Inbound socket events still being handled, so a shutdown can let them finish (their writes
// commit and their acks reach the client) before the sockets are told to reconnect. Once
// `refuse()` is called, new events get an `unavailable` error instead of starting new work: the
// client knows they were not stored and sends them again after reconnecting elsewhere.
import { errorEvent } from "./protocol/index.js";
import type { Ack, Connection } from "./connection.js";
import { refOf } from "./handlers/event-input.js";

export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();
  private refusing = false;

  get size(): number {
    return this.pending.size;
  }

  get isRefusing(): boolean {
    return this.refusing;
  }

  /** From now on `run` answers new events with an error instead of handling them. */
  refuse(): void {
    this.refusing = true;
  }

  /** Runs `work` for one inbound event, or refuses it while draining. */
  run(conn: Pick<Connection, "send">, name: string, payload: unknown, ack: Ack | undefined, work: () => Promise<void>): Promise<void> {
    if (this.refusing) {
      const ev = errorEvent("unavailable", "The server is restarting: reconnect and send again", refOf(payload, name));
      conn.send(ev);
      ack?.(ev);
      return Promise.resolve();
    }
    const p = work().finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Resolves once every event in flight is handled, or at `deadline` (epoch ms): true if all were. */
  async settled(deadline: number): Promise<boolean> {
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([Promise.allSettled([...this.pending]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }
}

