// One room's ordered stream on this worker (the "actor" of CONTRACT §7). Messages arrive from
// every worker through Redis in any order; a stream releases them strictly by seq. A gap that
// does not close by itself within GAP_WAIT_MS (a broadcast lost while Redis was away, say) is
// filled from PostgreSQL, the source of truth.
import type { Message } from "../../rooms/room-model.js";

export const GAP_WAIT_MS = 150;
const MAX_PENDING = 1_000;
const FILL_PAGE = 500;

export interface StreamSource {
  lastSeq(roomId: string): Promise<number | undefined>;
  messagesBetweenSeq(roomId: string, afterSeq: number, beforeSeq: number | null, max: number): Promise<Message[]>;
}

/** The timers a stream waits with (the gap wait, the retry of its first read); tests drive them. */
export interface StreamTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const REAL_TIMERS: StreamTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class RoomStream {
  /** The seq this stream releases next; undefined until initialised from PostgreSQL. */
  private next: number | undefined;
  private readonly pending = new Map<number, Message>();
  private gapTimer: unknown;
  private filling = false;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(
    readonly roomId: string,
    private readonly source: StreamSource,
    private readonly release: (m: Message) => void,
    private readonly onError: (err: unknown) => void,
    private readonly timers: StreamTimers = REAL_TIMERS,
  ) {
    this.ready = this.init();
  }

  private async init(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const last = (await this.source.lastSeq(this.roomId)) ?? 0;
        // Start after what was committed before anyone here listened; but a stream created by an
        // arriving message starts at that message (it may be the one that made last_seq).
        this.next = this.pending.size ? Math.min(last + 1, ...this.pending.keys()) : last + 1;
        this.drain();
        return;
      } catch (err) {
        this.onError(err);
        await new Promise((r) => this.timers.set(() => r(undefined), Math.min(200 * 2 ** attempt, 5_000)));
      }
    }
  }

  push(m: Message): void {
    if (this.closed) return;
    if (this.next !== undefined && m.seq < this.next) return; // already released: a duplicate
    this.pending.set(m.seq, m);
    if (this.next === undefined) return; // released once init knows where to start
    this.drain();
    if (this.pending.size > MAX_PENDING) void this.fill();
  }

  /** The seq released last (0 before any), for subscribers catching up. */
  get releasedUpTo(): number {
    return (this.next ?? 1) - 1;
  }

  private drain(): void {
    if (this.next === undefined) return;
    for (const seq of this.pending.keys()) if (seq < this.next) this.pending.delete(seq);
    let m = this.pending.get(this.next);
    while (m) {
      this.pending.delete(this.next);
      this.next++;
      this.release(m);
      m = this.pending.get(this.next);
    }
    if (this.pending.size === 0) {
      if (this.gapTimer !== undefined) this.timers.clear(this.gapTimer);
      this.gapTimer = undefined;
    } else if (this.gapTimer === undefined) {
      this.gapTimer = this.timers.set(() => void this.fill(), GAP_WAIT_MS);
    }
  }

  /** Fetches the missing seqs from PostgreSQL and releases them with what was waiting. */
  private async fill(): Promise<void> {
    this.gapTimer = undefined;
    if (this.filling || this.closed || this.next === undefined || this.pending.size === 0) return;
    this.filling = true;
    try {
      const upTo = Math.min(...this.pending.keys());
      const missing = await this.source.messagesBetweenSeq(this.roomId, this.next - 1, upTo, FILL_PAGE);
      for (const m of missing) if (m.seq >= this.next) this.pending.set(m.seq, m);
    } catch (err) {
      this.onError(err);
    } finally {
      this.filling = false;
    }
    this.drain();
  }

  /** Catches up with PostgreSQL after broadcasts may have been lost (Redis reconnected). */
  async resync(): Promise<void> {
    if (this.closed || this.next === undefined) return;
    try {
      const missed = await this.source.messagesBetweenSeq(this.roomId, this.next - 1, null, FILL_PAGE);
      for (const m of missed) this.push(m);
    } catch (err) {
      this.onError(err);
    }
  }

  close(): void {
    this.closed = true;
    if (this.gapTimer !== undefined) this.timers.clear(this.gapTimer);
    this.gapTimer = undefined;
    this.pending.clear();
  }
}
