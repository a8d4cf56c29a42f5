// Latency samples and their summary. Samples are kept whole (a Float64Array that grows): the
// runs are short enough that exact quantiles cost less than a histogram's bookkeeping.

export class Samples {
  private buf = new Float64Array(1024);
  private n = 0;

  add(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }

  addAll(other: Samples): void {
    for (const v of other.values()) this.add(v);
  }

  get count(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }

  summary(): Summary {
    const sorted = Float64Array.from(this.values()).sort();
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
    return { count: sorted.length, p50: q(0.5), p99: q(0.99), max: sorted.length ? sorted[sorted.length - 1]! : NaN };
  }
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export const round = (v: number, digits = 1) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

/** server ÷ baseline, rounded; for "higher is better" figures pass them that way round. */
export const ratio = (server: number, baseline: number) => (baseline > 0 && Number.isFinite(server) ? round(server / baseline, 2) : NaN);

/** A wall-clock time in ms with sub-ms precision that two processes on one machine agree on. */
export const nowMs = () => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
