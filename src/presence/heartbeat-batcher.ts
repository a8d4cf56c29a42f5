// Collects the heartbeats that arrive together and flushes them as one script call: at 20,000+/s
// a round trip (or even a Redis command) per heartbeat would cost more than the work itself.
// Flushing on setImmediate takes everything the current I/O phase delivered (all the socket
// frames read in one event-loop turn) without adding a timer's latency.

export interface BatcherOptions<R> {
  /** Flushes one batch; returns one result per input, in order. */
  readonly flush: (items: readonly string[]) => Promise<readonly R[]>;
  /** Largest batch in one call, so Redis is never blocked long by one script. @defaultValue 500 */
  readonly maxBatch?: number;
}

interface Pending<R> {
  readonly item: string;
  readonly resolve: (r: R) => void;
  readonly reject: (err: unknown) => void;
}

export interface Batcher<R> {
  push(item: string): Promise<R>;
  /** Flushes what is queued and waits for every batch in flight. */
  drain(): Promise<void>;
  readonly stats: { batches: number; items: number };
}

export function createBatcher<R>(opts: BatcherOptions<R>): Batcher<R> {
  const maxBatch = opts.maxBatch ?? 500;
  let queue: Pending<R>[] = [];
  let scheduled = false;
  const inFlight = new Set<Promise<void>>();
  const stats = { batches: 0, items: 0 };

  const send = (batch: Pending<R>[]) => {
    stats.batches++;
    stats.items += batch.length;
    const p = opts
      .flush(batch.map((b) => b.item))
      .then(
        (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const flushNow = () => {
    scheduled = false;
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += maxBatch) send(all.slice(i, i + maxBatch));
  };

  return {
    stats,
    push(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (queue.length >= maxBatch) flushNow();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flushNow);
        }
      });
    },
    async drain() {
      if (queue.length) flushNow();
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
