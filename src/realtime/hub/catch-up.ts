// A subscriber catching up: a connection that joined a room with `last_message_id` is replayed
// the room's history from PostgreSQL while the room's live stream goes on, then becomes a live
// member exactly where its replay ended. It is one of the stream's subscribers from the moment it
// registers (before it leaves live, if it was live), so this worker's stream of the room is never
// released and re-created under it; re-created, a stream would start after the room's current
// `last_seq` and drop a message committed but not yet broadcast (issue 13).
//
// The seam, with H the last seq the replay sent (its high-water mark):
// - while the replay runs, the stream's releases are buffered;
// - when it ends, buffered releases above H are sent (they follow H without a gap: the replay read
//   PostgreSQL after registering, so it saw every message the stream had released by then);
// - from then on releases up to H are skipped, and at the release of H+1 the subscriber goes live
//   synchronously, inside the release, so that message reaches it through the normal fan-out, once.
import type { Message } from "../../rooms/room-model.js";

export interface CatchUpOptions {
  readonly roomId: string;
  /** The last seq the subscriber has: the seq of its `last_message_id`. */
  readonly mark: number;
  /** Sends one replayed or caught-up message to this subscriber alone. */
  readonly send: (m: Message) => void;
  /** The last seq the room's stream has released on this worker. */
  readonly releasedUpTo: () => number;
  /** Makes the subscriber a live member (synchronously) and drops this catch-up. */
  readonly goLive: () => void;
  /** A release that does not follow the mark: a gap this design rules out, reported if it happens. */
  readonly onGap: (expected: number, got: number) => void;
}

export class CatchUp {
  /** Releases held while the replay runs; undefined once it ended. */
  private buffer: Message[] | undefined = [];
  private mark: number;
  private live = false;

  constructor(private readonly opts: CatchUpOptions) {
    this.mark = opts.mark;
  }

  get roomId(): string {
    return this.opts.roomId;
  }

  /** The seq this subscriber has up to (what the replay sent so far, for the replay to go on from). */
  get upTo(): number {
    return this.mark;
  }

  /** The replay sent `m` (in seq order, starting after the mark). */
  replayed(m: Message): void {
    if (m.seq <= this.mark) return;
    this.opts.send(m);
    this.mark = m.seq;
  }

  /** The room's stream released `m`; called before the release is fanned out to live members. */
  onRelease(m: Message): void {
    if (this.live) return;
    if (this.buffer) {
      this.buffer.push(m);
      return;
    }
    if (m.seq <= this.mark) return; // the replay sent it
    if (m.seq !== this.mark + 1) this.opts.onGap(this.mark + 1, m.seq);
    this.goLive(); // the fan-out that follows delivers `m`
  }

  /** The replay is done: send what the stream released meanwhile, then go live now or at mark+1. */
  finish(): void {
    const held = this.buffer ?? [];
    this.buffer = undefined;
    for (const m of held) {
      if (m.seq <= this.mark) continue;
      if (m.seq !== this.mark + 1) this.opts.onGap(this.mark + 1, m.seq);
      this.opts.send(m);
      this.mark = m.seq;
    }
    // The stream is where the subscriber is: its next release is mark+1, for the live fan-out.
    // Behind (it has yet to receive what the replay read), the subscriber waits for mark+1.
    if (this.opts.releasedUpTo() >= this.mark) this.goLive();
  }

  private goLive(): void {
    this.live = true;
    this.opts.goLive();
  }
}
