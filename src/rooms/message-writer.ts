// Group commit for the hottest write of the city. A post goes out at once when the writer is
// idle (no added latency at low load); posts that arrive while statements are in flight wait and
// then share one statement and one commit. Batches stay atomic per statement; a batch that fails (a
// concurrent duplicate, a deadlock, one message the database refuses) is replayed message by
// message, so one bad message never fails its neighbours.
import { isUnavailable } from "../core/errors.js";
import type { InsertResult, NewMessage } from "./rooms-repo.js";

export interface MessageWriterOptions {
  /** Statements in flight at once per process. */
  readonly maxInFlight?: number;
  /** Messages per statement at most. */
  readonly maxBatch?: number;
}

interface Pending {
  readonly msg: NewMessage;
  resolve(r: InsertResult): void;
  reject(err: unknown): void;
}

export class MessageWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  /** Rooms with a statement in flight. A second statement for one of them would only wait on
   *  the room's row lock while holding its messages back from the next, larger batch (measured:
   *  one hot room, two workers, 2 in flight each ran at 0.6x of 1 each). */
  private readonly busyRooms = new Set<string>();
  private readonly maxInFlight: number;
  private readonly maxBatch: number;

  constructor(
    private readonly insert: (batch: readonly NewMessage[]) => Promise<InsertResult[]>,
    opts: MessageWriterOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxBatch = opts.maxBatch ?? 200;
  }

  write(msg: NewMessage): Promise<InsertResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length) {
      const batch = this.takeBatch();
      if (batch.length === 0) return; // every queued post is for a room already being written
      const rooms = new Set(batch.map((p) => p.msg.roomId));
      for (const r of rooms) this.busyRooms.add(r);
      this.inFlight++;
      void this.run(batch).finally(() => {
        for (const r of rooms) this.busyRooms.delete(r);
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Takes up to maxBatch posts for rooms not being written, leaving a repeat of a (room, author,
   *  client_message_id) already in the batch for the next one, where it finds the first as a
   *  duplicate. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const p of this.queue) {
      const m = p.msg;
      const key = m.clientMessageId ? `${m.roomId}\u0000${m.authorUserId ?? m.authorAgentId}\u0000${m.clientMessageId}` : undefined;
      if (batch.length >= this.maxBatch || this.busyRooms.has(m.roomId) || (key && keys.has(key))) {
        rest.push(p);
        continue;
      }
      if (key) keys.add(key);
      batch.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const results = await this.insert(batch.map((p) => p.msg));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      // Whatever failed the shared statement (a duplicate race, a deadlock, or one message the
      // database refuses), each message is tried alone so only the one at fault fails. Not when
      // the database is unreachable: every replay would only fail again, slower.
      if (batch.length > 1 && !isUnavailable(err)) {
        for (const p of batch) await this.run([p]);
        return;
      }
      for (const p of batch) p.reject(err);
    }
  }
}
