// A join with `last_message_id`: every persisted message after the client's last one is sent from
// PostgreSQL, then the live ones, with no gap and no duplicate. The seam between the two is the
// hub's (catch-up.ts); this is the replay's side: read pages after what the member has, stop as
// soon as the member is gone, and stop at a cap rather than replay without end.
import type { Message } from "../../rooms/room-model.js";
import type { RoomHub, RoomMember } from "./room-hub.js";

export interface ReplaySource {
  /** Messages with afterSeq < seq (< beforeSeq), oldest first, at most `max`. */
  messagesBetweenSeq(roomId: string, afterSeq: number, beforeSeq: number | null, max: number): Promise<Message[]>;
}

export interface ReplayLimits {
  /** Messages read per query. @defaultValue 500 */
  readonly page?: number;
  /** Messages one join replays at most; then `room.replay.truncated`. @defaultValue 10000 */
  readonly max?: number;
}

/** How a replay ended: live in the room, stopped at the cap (not live), or its member went away. */
export type ReplayOutcome = "live" | "truncated" | "gone";

/** `last` is the client's last message: its seq and id. Throws what the source throws (the member
 *  is then not in the room). */
export async function replayThenLive(
  hub: RoomHub,
  source: ReplaySource,
  member: RoomMember,
  roomId: string,
  last: { seq: number; id: string },
  limits: ReplayLimits = {},
): Promise<ReplayOutcome> {
  const page = limits.page ?? 500;
  const max = limits.max ?? 10_000;
  const replay = hub.catchUp(roomId, member, last.seq);
  if (!replay) return "gone";
  try {
    await replay.ready; // the stream knows where it starts before the replay reads its snapshot
    let lastId = last.id;
    for (let sent = 0; ; ) {
      if (!replay.active) return "gone";
      const want = Math.min(page, max - sent);
      if (want <= 0) {
        // Not live: the client goes on from the last message sent (another join, or history pages).
        replay.cancel();
        member.send({ event: "room.replay.truncated", room_id: roomId, last_message_id: lastId });
        return "truncated";
      }
      const rows = await source.messagesBetweenSeq(roomId, replay.upTo, null, want);
      if (!replay.active) return "gone";
      for (const m of rows) replay.send(m);
      if (rows.length) lastId = rows[rows.length - 1]!.id;
      sent += rows.length;
      if (rows.length < want) break; // the end of the room's history
    }
    replay.finish();
    return "live";
  } catch (err) {
    replay.cancel();
    throw err;
  }
}
