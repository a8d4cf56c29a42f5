// Per-connection flood guard: a token bucket for inbound frames and events. Each transport takes
// a token for every frame it reads, before parsing it (pings, unknown events and unparsable frames
// count too: CONTRACT §13). Over the rate a client gets `rate_limited` errors; a client that keeps
// flooding after that is disconnected.
import { errorEvent } from "./protocol/index.js";
import type { Ack, Connection } from "./connection.js";

export interface FloodGuardOptions {
  /** Sustained events per second. */
  readonly ratePerSec: number;
  /** Burst size. */
  readonly burst: number;
  /** Refused events tolerated (within one refill of the bucket) before disconnecting. */
  readonly maxRefused: number;
}

export const DEFAULT_FLOOD: FloodGuardOptions = { ratePerSec: 20, burst: 40, maxRefused: 40 };

export type FloodVerdict = "ok" | "refuse" | "disconnect";

export class FloodGuard {
  private tokens: number;
  private refused = 0;
  private last: number;

  constructor(
    private readonly opts: FloodGuardOptions = DEFAULT_FLOOD,
    /** Milliseconds, monotonic; tests drive it. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = opts.burst;
    this.last = now();
  }

  take(): FloodVerdict {
    const now = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.ratePerSec);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      if (this.tokens >= this.opts.burst / 2) this.refused = 0;
      return "ok";
    }
    this.refused++;
    return this.refused > this.opts.maxRefused ? "disconnect" : "refuse";
  }
}

/**
 * Takes a token for one inbound frame of `conn`. False when it is refused: the client has been told
 * (`rate_limited`, the ack answered too so an emitWithAck does not hang until its own timeout), and
 * disconnected if it kept flooding.
 */
export function admitFrame(guard: FloodGuard, conn: Pick<Connection, "send" | "disconnect">, ref: string | undefined, ack?: Ack): boolean {
  const verdict = guard.take();
  if (verdict === "ok") return true;
  const err = errorEvent("rate_limited", "Too many events; slow down", ref);
  conn.send(err);
  ack?.(err);
  if (verdict === "disconnect") conn.disconnect("flood");
  return false;
}
