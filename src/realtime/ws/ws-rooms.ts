// The raw-ws delivery adapter: this worker's raw-ws members of each room. A broadcast is encoded
// once per dialect, not once per recipient (fan-out.ts).
import { fanOut, type WsMember } from "./fan-out.js";
import type { RoomBroadcast } from "../protocol/index.js";
import type { DeliveryAdapter } from "../hub/room-hub.js";

export class WsRooms implements DeliveryAdapter {
  readonly protocol = "ws" as const;
  private readonly rooms = new Map<string, Set<WsMember>>();

  add(roomId: string, member: WsMember): void {
    let set = this.rooms.get(roomId);
    if (!set) this.rooms.set(roomId, (set = new Set()));
    set.add(member);
  }

  remove(roomId: string, member: WsMember): void {
    const set = this.rooms.get(roomId);
    if (!set?.delete(member)) return;
    if (set.size === 0) this.rooms.delete(roomId);
  }

  count(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  broadcast(roomId: string, event: RoomBroadcast): void {
    const set = this.rooms.get(roomId);
    if (set) fanOut(set, event);
  }

  subscriptions(): number {
    let n = 0;
    for (const set of this.rooms.values()) n += set.size;
    return n;
  }
}
