// Per-connection flood guard: a token bucket for inbound events. Over the rate a client gets
// `rate_limited` errors; a client that keeps flooding after that is disconnected.

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
  private last = performance.now();

  constructor(private readonly opts: FloodGuardOptions = DEFAULT_FLOOD) {
    this.tokens = opts.burst;
  }

  take(): FloodVerdict {
    const now = performance.now();
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
