// The one event path of a worker (NOTES "Raw-ws clients as first-class room members"): every
// room event goes to this worker's subscribers and, once, to every other worker through the
// Socket.IO Redis adapter (serverSideEmit). Each worker then delivers to its own Socket.IO
// sockets (one encoded broadcast) and its own raw-ws clients (one frame per dialect).
// Messages pass through the room's ordered stream first, so every client sees seq order.
import type { Message } from "../rooms/room-model.js";
import type { Logger } from "../core/logger.js";
import { RoomStream, type StreamSource } from "./room-stream.js";
import type { RoomBroadcast } from "./protocol/outbound.js";
import { fanOut, type WsMember } from "./fan-out.js";
import type { RealtimeProtocol } from "./realtime-metrics.js";

/** Told how many clients of this worker each live room event reached (for metrics). */
export type OnDeliver = (protocol: RealtimeProtocol, event: string, recipients: number) => void;


export interface HubTransport {
  /** Emits to this worker's Socket.IO sockets in a room (never across workers). */
  emitLocal(roomId: string, event: RoomBroadcast): void;
  /** Number of this worker's Socket.IO sockets in a room. */
  localSocketCount(roomId: string): number;
  /** Sends the event to every other worker, once. */
  toPeers(event: RoomBroadcast): void;
}

type CatchUp = (m: Message) => void;

export class RoomHub {
  private readonly streams = new Map<string, RoomStream>();
  private readonly ws = new Map<string, Set<WsMember>>();
  private readonly catchingUp = new Map<string, Set<CatchUp>>();
  private transport: HubTransport | undefined;

  constructor(
    private readonly source: StreamSource,
    private readonly logger: Logger,
    private readonly onDeliver?: OnDeliver,
  ) {}

  attach(transport: HubTransport): void {
    this.transport = transport;
  }

  /** A committed event from this worker: deliver here and send to every other worker. */
  publish(event: RoomBroadcast): void {
    this.transport?.toPeers(event);
    this.receive(event);
  }

  /** An event from any worker (including this one). */
  receive(event: RoomBroadcast): void {
    if (event.event !== "room.message") {
      this.deliver(event.room_id, event);
      return;
    }
    const roomId = event.room_id;
    if (!this.hasLocalSubscribers(roomId)) {
      this.dropStream(roomId);
      return;
    }
    this.stream(roomId).push(event.message);
  }

  /** Ensures the room's stream exists and knows where it starts. */
  async ready(roomId: string): Promise<RoomStream> {
    const s = this.stream(roomId);
    await s.ready;
    return s;
  }

  subscribeWs(roomId: string, member: WsMember): void {
    let set = this.ws.get(roomId);
    if (!set) this.ws.set(roomId, (set = new Set()));
    set.add(member);
    this.stream(roomId);
  }

  unsubscribeWs(roomId: string, member: WsMember): void {
    const set = this.ws.get(roomId);
    if (!set) return;
    set.delete(member);
    if (set.size === 0) this.ws.delete(roomId);
    this.releaseIfIdle(roomId);
  }

  /** While a subscriber replays history, live messages of the room are also handed to it. */
  addCatchUp(roomId: string, fn: CatchUp): () => void {
    let set = this.catchingUp.get(roomId);
    if (!set) this.catchingUp.set(roomId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.catchingUp.delete(roomId);
      this.releaseIfIdle(roomId);
    };
  }

  /** Called when a Socket.IO socket joined a room: its stream starts reading where the room is. */
  watch(roomId: string): void {
    this.stream(roomId);
  }

  /** Called when a Socket.IO socket left a room, so an idle stream can be dropped. */
  releaseIfIdle(roomId: string): void {
    if (!this.hasLocalSubscribers(roomId)) this.dropStream(roomId);
  }

  /** After Redis comes back, fetch what broadcasts may have missed. */
  resyncAll(): void {
    for (const s of this.streams.values()) void s.resync();
  }

  /** Live raw-ws (connection, room) subscriptions on this worker. */
  wsSubscriptionCount(): number {
    let n = 0;
    for (const set of this.ws.values()) n += set.size;
    return n;
  }

  close(): void {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }

  private hasLocalSubscribers(roomId: string): boolean {
    return (this.ws.get(roomId)?.size ?? 0) > 0 || this.catchingUp.has(roomId) || (this.transport?.localSocketCount(roomId) ?? 0) > 0;
  }

  private stream(roomId: string): RoomStream {
    let s = this.streams.get(roomId);
    if (!s) {
      s = new RoomStream(
        roomId,
        this.source,
        (m) => {
          for (const fn of this.catchingUp.get(roomId) ?? []) fn(m);
          this.deliver(roomId, { event: "room.message", room_id: roomId, message: m });
        },
        (err) => this.logger.warn({ err, roomId }, "room stream could not read PostgreSQL; retrying"),
      );
      this.streams.set(roomId, s);
    }
    return s;
  }

  private dropStream(roomId: string): void {
    const s = this.streams.get(roomId);
    if (s) {
      s.close();
      this.streams.delete(roomId);
    }
  }

  private deliver(roomId: string, event: RoomBroadcast): void {
    this.transport?.emitLocal(roomId, event);
    const members = this.ws.get(roomId);
    if (members?.size) fanOut(members, event);
    if (this.onDeliver) {
      const sockets = this.transport?.localSocketCount(roomId) ?? 0;
      if (sockets) this.onDeliver("socket.io", event.event, sockets);
      if (members?.size) this.onDeliver("ws", event.event, members.size);
    }
  }
}
