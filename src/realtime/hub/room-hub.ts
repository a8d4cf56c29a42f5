// One worker's rooms: every room event the room-event bus brings (from this process or any
// other) is delivered to this worker's members of the room through one delivery adapter per
// transport (Socket.IO: one encoded broadcast; raw ws: one frame per dialect), two equals.
// Messages pass through the room's ordered stream first (room-stream.ts), so every client sees
// seq order with no gap; a member that joins with `last_message_id` catches up first
// (catch-up.ts, replay.ts). A room's stream lives while the room has members here.
import type { Message } from "../../rooms/room-model.js";
import type { Logger } from "../../core/logger.js";
import { RoomStream, REAL_TIMERS, type StreamSource, type StreamTimers } from "./room-stream.js";
import { CatchUp } from "./catch-up.js";
import type { RoomBroadcast, ServerEvent } from "../protocol/index.js";
import type { RealtimeProtocol } from "../realtime-metrics.js";

/** Told how many clients of this worker each live room event reached (for metrics). */
export type OnDeliver = (protocol: RealtimeProtocol, event: string, recipients: number) => void;

/** One transport's live members of rooms on this worker, and how to reach them. */
export interface DeliveryAdapter {
  readonly protocol: RealtimeProtocol;
  /** Live members of the room on this worker. */
  count(roomId: string): number;
  /** Sends the event to every live member of the room on this worker. */
  broadcast(roomId: string, event: RoomBroadcast): void;
  /** Live (connection, room) memberships on this worker, for metrics. */
  subscriptions(): number;
}

/** One connection as a member of rooms, implemented by its transport. */
export interface RoomMember {
  readonly protocol: RealtimeProtocol;
  /** True once the connection closed: nothing may subscribe it again. */
  readonly closed: boolean;
  /** Sends an event to this connection alone. */
  send(event: ServerEvent): void;
  /** Makes it a live member of the room in its transport's adapter (synchronously). */
  addLive(roomId: string): void;
  removeLive(roomId: string): void;
}

/** A replay in progress for one member (see RoomHub.catchUp). */
export interface Replay {
  /** Resolves once the room's stream knows where it starts: the replay reads PostgreSQL after. */
  readonly ready: Promise<void>;
  /** False once the replay is superseded (the member left, closed, or joined again). */
  readonly active: boolean;
  /** The seq the member has up to: the replay goes on after it. */
  readonly upTo: number;
  /** Sends one replayed message (in seq order) to the member. */
  send(m: Message): void;
  /** The replay is done: the member goes live at its mark, now or at the stream's next release. */
  finish(): void;
  /** The replay stopped (error, truncation): the member is in the room no more. */
  cancel(): void;
}

export interface RoomHubDeps {
  /** PostgreSQL, for where a stream starts and what broadcasts missed. */
  readonly source: StreamSource;
  readonly adapters: readonly DeliveryAdapter[];
  readonly logger: Logger;
  readonly onDeliver?: OnDeliver;
  readonly timers?: StreamTimers;
}

const messageEvent = (roomId: string, message: Message): RoomBroadcast => ({ event: "room.message", room_id: roomId, message });

export class RoomHub {
  private readonly streams = new Map<string, RoomStream>();
  /** Members catching up, per room. */
  private readonly catchUps = new Map<string, Map<RoomMember, CatchUp>>();

  constructor(private readonly deps: RoomHubDeps) {}

  /** A room event from any process (the bus), or derived here (room.presence). */
  receive(event: RoomBroadcast): void {
    const roomId = event.room_id;
    if (event.event !== "room.message") {
      for (const member of this.catchUps.get(roomId)?.keys() ?? []) member.send(event);
      this.deliver(roomId, event);
      return;
    }
    if (!this.hasLocalSubscribers(roomId)) {
      this.dropStream(roomId);
      return;
    }
    this.stream(roomId).push(event.message);
  }

  /** Makes `member` a live member of the room: it gets what the room's stream releases from now. */
  join(roomId: string, member: RoomMember): void {
    if (member.closed) return;
    // Catching up, it goes live at its mark by itself; live now, it would get messages twice.
    if (this.catchUps.get(roomId)?.has(member)) return;
    this.stream(roomId);
    member.addLive(roomId);
  }

  /**
   * Starts a replay for `member`, which has every message of the room up to seq `mark`. The member
   * is a subscriber of the room's stream from this call on (registered before it leaves live), so
   * the stream is never released under it. Returns undefined for a closed connection.
   */
  catchUp(roomId: string, member: RoomMember, mark: number): Replay | undefined {
    if (member.closed) return undefined;
    const stream = this.stream(roomId);
    let set = this.catchUps.get(roomId);
    if (!set) this.catchUps.set(roomId, (set = new Map()));
    const catchUp: CatchUp = new CatchUp({
      roomId,
      mark,
      send: (m) => member.send(messageEvent(roomId, m)),
      releasedUpTo: () => stream.releasedUpTo,
      goLive: () => {
        this.removeCatchUp(roomId, member, catchUp);
        member.addLive(roomId);
      },
      onGap: (expected, got) => this.deps.logger.error({ roomId, expected, got }, "catch-up: the stream skipped a message"),
    });
    set.set(member, catchUp); // a replay this one supersedes stops at its next step
    member.removeLive(roomId);
    const active = () => this.catchUps.get(roomId)?.get(member) === catchUp;
    return {
      ready: stream.ready,
      get active() {
        return active() && !member.closed;
      },
      get upTo() {
        return catchUp.upTo;
      },
      send: (m) => {
        if (active()) catchUp.replayed(m);
      },
      finish: () => {
        if (active()) catchUp.finish();
      },
      cancel: () => {
        if (!active()) return;
        this.removeCatchUp(roomId, member, catchUp);
        this.releaseIfIdle(roomId);
      },
    };
  }

  /** The member leaves the room (live, or catching up). */
  leave(roomId: string, member: RoomMember): void {
    const c = this.catchUps.get(roomId)?.get(member);
    if (c) this.removeCatchUp(roomId, member, c);
    member.removeLive(roomId);
    this.releaseIfIdle(roomId);
  }

  /** The member's connection closed: its replays stop, and streams it alone held are released.
   *  `rooms` are the rooms it was a live member of (its transport has already removed it). */
  forget(member: RoomMember, rooms: Iterable<string>): void {
    const touched = new Set(rooms);
    for (const [roomId, set] of this.catchUps) {
      const c = set.get(member);
      if (!c) continue;
      this.removeCatchUp(roomId, member, c);
      touched.add(roomId);
    }
    for (const roomId of touched) this.releaseIfIdle(roomId);
  }

  /** After Redis comes back, fetch what broadcasts may have missed. */
  resyncAll(): void {
    for (const s of this.streams.values()) void s.resync();
  }

  /** Live and catching-up (connection, room) subscriptions on this worker, per protocol. */
  subscriptions(): Record<RealtimeProtocol, number> {
    const n: Record<RealtimeProtocol, number> = { "socket.io": 0, ws: 0 };
    for (const a of this.deps.adapters) n[a.protocol] += a.subscriptions();
    for (const set of this.catchUps.values()) for (const m of set.keys()) n[m.protocol]++;
    return n;
  }

  /** Rooms whose stream is open on this worker (for tests and metrics). */
  openStreams(): number {
    return this.streams.size;
  }

  close(): void {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    this.catchUps.clear();
  }

  private removeCatchUp(roomId: string, member: RoomMember, c: CatchUp): void {
    const set = this.catchUps.get(roomId);
    if (set?.get(member) !== c) return;
    set.delete(member);
    if (set.size === 0) this.catchUps.delete(roomId);
  }

  private releaseIfIdle(roomId: string): void {
    if (!this.hasLocalSubscribers(roomId)) this.dropStream(roomId);
  }

  private hasLocalSubscribers(roomId: string): boolean {
    return this.catchUps.has(roomId) || this.deps.adapters.some((a) => a.count(roomId) > 0);
  }

  private stream(roomId: string): RoomStream {
    let s = this.streams.get(roomId);
    if (!s) {
      s = new RoomStream(
        roomId,
        this.deps.source,
        (m) => this.release(roomId, m),
        (err) => this.deps.logger.warn({ err, roomId }, "room stream could not read PostgreSQL; retrying"),
        this.deps.timers ?? REAL_TIMERS,
      );
      this.streams.set(roomId, s);
    }
    return s;
  }

  /** The stream released `m`: members catching up see it first (one may go live on it). */
  private release(roomId: string, m: Message): void {
    const set = this.catchUps.get(roomId);
    if (set) for (const c of [...set.values()]) c.onRelease(m);
    this.deliver(roomId, messageEvent(roomId, m));
  }

  private dropStream(roomId: string): void {
    const s = this.streams.get(roomId);
    if (s) {
      s.close();
      this.streams.delete(roomId);
    }
  }

  private deliver(roomId: string, event: RoomBroadcast): void {
    for (const a of this.deps.adapters) {
      const n = a.count(roomId);
      if (n === 0) continue;
      a.broadcast(roomId, event);
      this.deps.onDeliver?.(a.protocol, event.event, n);
    }
  }
}
