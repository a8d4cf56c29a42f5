// Deterministic stand-ins for unit tests of the room streams and the hub: a room's committed
// messages whose queries the test lets run one at a time (a query reads the room as it is when
// the test runs it, as a PostgreSQL statement reads its snapshot), timers the test fires by hand,
// and members and delivery adapters that record what each connection received.
import type { Message } from "../../src/rooms/room-model.js";
import type { StreamSource, StreamTimers } from "../../src/realtime/hub/room-stream.js";
import type { DeliveryAdapter, RoomMember } from "../../src/realtime/hub/room-hub.js";
import type { RoomBroadcast, ServerEvent } from "../../src/realtime/protocol/index.js";
import type { RealtimeProtocol } from "../../src/realtime/realtime-metrics.js";
import { pino } from "pino";
import type { Logger } from "../../src/core/logger.js";

export const ROOM = "room_city_fake";

export function message(seq: number, roomId = ROOM): Message {
  return {
    id: `m_city_${String(seq).padStart(26, "0")}`,
    room_id: roomId,
    seq,
    author_user_id: "u_a",
    author_agent_id: null,
    username: "A",
    body: `#${seq}`,
    text: `#${seq}`,
    client_message_id: null,
    created_at: new Date(0).toISOString(),
  };
}

/** Lets every promise continuation that is ready run (no timers involved). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface HeldQuery {
  readonly what: string;
  run(): void;
  fail(err: unknown): void;
}

/** One room's committed messages. With `held`, each query waits until the test runs it. */
export class FakeRoomDb implements StreamSource {
  readonly committed: Message[] = [];
  readonly queries: HeldQuery[] = [];
  held = false;

  /** Commits the next message (seq = last + 1) and returns it. */
  commit(): Message {
    const m = message(this.committed.length + 1);
    this.committed.push(m);
    return m;
  }

  get last(): number {
    return this.committed.length;
  }

  lastSeq(): Promise<number | undefined> {
    return this.query("lastSeq", () => this.committed.length);
  }

  messagesBetweenSeq(_roomId: string, afterSeq: number, beforeSeq: number | null, max: number): Promise<Message[]> {
    return this.query(`between ${afterSeq} ${beforeSeq}`, () => this.committed.filter((m) => m.seq > afterSeq && (beforeSeq === null || m.seq < beforeSeq)).slice(0, max));
  }

  /** Runs the oldest held query against the room as it is now; resolves once its caller resumed. */
  async runNext(what?: string): Promise<void> {
    await settle(); // a query its caller is about to make is made
    const q = this.queries.shift();
    if (!q) throw new Error(`no query waiting${what ? ` (wanted ${what})` : ""}`);
    if (what && !q.what.startsWith(what)) throw new Error(`next query is ${q.what}, wanted ${what}`);
    q.run();
    await settle();
  }

  async failNext(err: unknown): Promise<void> {
    await settle();
    const q = this.queries.shift();
    if (!q) throw new Error("no query waiting");
    q.fail(err);
    await settle();
  }

  private query<T>(what: string, read: () => T): Promise<T> {
    if (!this.held) return Promise.resolve(read());
    return new Promise<T>((resolve, reject) => this.queries.push({ what, run: () => resolve(read()), fail: reject }));
  }
}

/** Timers fired by the test. */
export class ManualTimers implements StreamTimers {
  private next = 1;
  private readonly pending = new Map<number, { fn: () => void; ms: number }>();

  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get count(): number {
    return this.pending.size;
  }

  /** Fires every pending timer (those they set in turn wait for the next call). */
  async fireAll(): Promise<void> {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const t of due) t.fn();
    await settle();
  }
}

/** A transport's members of rooms, as the hub sees them. */
export class FakeAdapter implements DeliveryAdapter {
  readonly rooms = new Map<string, Set<FakeMember>>();
  constructor(readonly protocol: RealtimeProtocol = "ws") {}
  count(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }
  broadcast(roomId: string, event: RoomBroadcast): void {
    for (const m of this.rooms.get(roomId) ?? []) m.received.push(event);
  }
  subscriptions(): number {
    let n = 0;
    for (const s of this.rooms.values()) n += s.size;
    return n;
  }
}

/** One connection: records every event it received, directly or by a broadcast. */
export class FakeMember implements RoomMember {
  readonly received: ServerEvent[] = [];
  closed = false;
  constructor(
    private readonly adapter: FakeAdapter,
    readonly name = "member",
  ) {}
  get protocol(): RealtimeProtocol {
    return this.adapter.protocol;
  }
  send(event: ServerEvent): void {
    this.received.push(event);
  }
  addLive(roomId: string): void {
    let s = this.adapter.rooms.get(roomId);
    if (!s) this.adapter.rooms.set(roomId, (s = new Set()));
    s.add(this);
  }
  removeLive(roomId: string): void {
    const s = this.adapter.rooms.get(roomId);
    s?.delete(this);
    if (s?.size === 0) this.adapter.rooms.delete(roomId);
  }
  isLive(roomId = ROOM): boolean {
    return this.adapter.rooms.get(roomId)?.has(this) ?? false;
  }
  /** The seqs of the room messages received, in order. */
  seqs(): number[] {
    return this.received.flatMap((e) => (e.event === "room.message" ? [e.message.seq] : []));
  }
}

/** A real logger that keeps its warnings and errors, so a test can assert there were none. */
export function recordingLogger(): { logger: Logger; problems: string[] } {
  const problems: string[] = [];
  return { logger: pino({ level: "warn" }, { write: (line: string) => void problems.push(line) }), problems };
}
