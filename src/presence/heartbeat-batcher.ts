// Collects the heartbeats that arrive together and flushes them as one script call: at 20,000+/s
// a round trip (or even a Redis command) per heartbeat would cost more than the work itself.
// Flushing on setImmediate takes everything the current I/O phase delivered (all the socket
// frames read in one event-loop turn) without adding a timer's latency.

export interface BatcherOptions<R> {
  /** Flushes one batch; returns one result per input, in order. */
  readonly flush: (items: string[]) => Promise<readonly R[]>;
  /**
   * Largest batch in one call, so Redis is never blocked long by one script (and Lua's unpack()
   * of the arguments stays far below its stack limit). @defaultValue 500, at most 2000
   */
  readonly maxBatch?: number;
}

export interface Batcher<R> {
  push(item: string): Promise<R>;
  /** Flushes what is queued and waits for every batch in flight. */
  drain(): Promise<void>;
  readonly stats: { batches: number; items: number };
}

type Settle<R> = { resolve: (r: R) => void; reject: (err: unknown) => void };

export function createBatcher<R>(opts: BatcherOptions<R>): Batcher<R> {
  const maxBatch = Math.min(2000, Math.max(1, opts.maxBatch ?? 500));
  // Parallel arrays, not an object per item: at tens of thousands per second allocations count.
  let items: string[] = [];
  let waiters: Settle<R>[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();
  const stats = { batches: 0, items: 0 };

  const flushNow = () => {
    scheduled = false;
    if (items.length === 0) return;
    const batch = items;
    const settle = waiters;
    items = [];
    waiters = [];
    stats.batches++;
    stats.items += batch.length;
    const p = opts
      .flush(batch)
      .then(
        (results) => {
          for (let i = 0; i < settle.length; i++) settle[i]!.resolve(results[i] as R);
        },
        (err: unknown) => {
          for (const s of settle) s.reject(err);
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  return {
    stats,
    push(item) {
      return new Promise<R>((resolve, reject) => {
        items.push(item);
        waiters.push({ resolve, reject });
        if (items.length >= maxBatch) flushNow();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flushNow);
        }
      });
    },
    async drain() {
      flushNow();
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
