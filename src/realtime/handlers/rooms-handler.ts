// The rooms protocol, independent of transport: Socket.IO and the raw-ws shim hand every room
// event to `handle` with a RoomsConnection adapter, so behaviour cannot drift. Membership of a
// room on this worker (live, or catching up with a replay) goes through the hub.
import type { z } from "zod";
import { AppError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { actorId } from "../../auth/identity.js";
import type { RoomsService } from "../../rooms/rooms-service.js";
import { ROOM_INBOUND, normaliseRoomEvent, type RoomEventName, type RoomEventInput } from "../protocol/index.js";
import type { RoomHub, RoomMember } from "../hub/room-hub.js";
import { replayThenLive } from "../hub/replay.js";
import type { Ack, Connection } from "../connection.js";
import { assertOwnUser, parseEvent, refOf, replyError } from "./event-input.js";

export interface RoomsConnection extends Omit<Connection, "id">, RoomMember {
  /** The room a raw-ws connection was opened on (`/ws/city/rooms/{room_id}`): events that name no
   *  room are about it (CONTRACT §10). Socket.IO has none. */
  readonly pathRoom?: string;
}

export interface RoomsHandlerDeps {
  readonly rooms: RoomsService;
  readonly hub: RoomHub;
  readonly logger: Logger;
}

type Input<K extends RoomEventName> = RoomEventInput<K>;
type Handlers = { [K in RoomEventName]: (conn: RoomsConnection, ev: Input<K>, ack: Ack | undefined) => Promise<void> };
/** The schemas as a map over the same keys, so that for one event name K the schema's output and
 *  the handler's input are known to be the same type (TypeScript's correlated unions). */
const SCHEMAS: { [K in RoomEventName]: z.ZodType<Input<K>> } = ROOM_INBOUND;

export function createRoomsHandler({ rooms, hub, logger }: RoomsHandlerDeps) {
  const handlers: Handlers = {
    async "room.join"(conn, ev, ack) {
      await rooms.assertRoom(ev.room_id);
      if (ev.last_message_id) {
        let mark: number;
        try {
          mark = await rooms.seqOfMessage(ev.room_id, ev.last_message_id);
        } catch (err) {
          hub.join(ev.room_id, conn); // an unknown last_message_id: live from now, and told why
          throw err;
        }
        await replayThenLive(hub, rooms, conn, ev.room_id, { seq: mark, id: ev.last_message_id });
      } else hub.join(ev.room_id, conn);
      // A connection closed meanwhile leaves nothing behind: no membership, no announcement.
      if (conn.closed) return;
      // Membership and its broadcast come after the subscription, so the joiner sees it too.
      const who = conn.identity;
      const changed = who ? (await rooms.join(who, ev.room_id)).changed : false;
      if (ack) ack({ event: "room.join", room_id: ev.room_id, user_id: who ? actorId(who) : null });
      // Raw ws has no ack: a member already in the room (another tab, a repeated join) causes no
      // broadcast, so confirm the join to this connection alone. Anonymous listeners get none: a
      // room.join without a user would read as someone joining in a front end's member list.
      else if (who && !changed) conn.send({ event: "room.join", room_id: ev.room_id, user_id: actorId(who) });
    },

    async "room.leave"(conn, ev, ack) {
      hub.leave(ev.room_id, conn);
      if (conn.identity) await rooms.leave(conn.identity, ev.room_id).catch((err: unknown) => logger.debug({ err }, "leave of an unknown room"));
      ack?.({ event: "room.leave", room_id: ev.room_id });
    },

    async "room.message.send"(conn, ev, ack) {
      const who = conn.identity;
      if (!who) throw new AppError("unauthorized", "Sending needs a token: connect with auth.token or ?token=");
      const { message } = await rooms.postMessage(who, ev.room_id, { body: ev.body, clientMessageId: ev.clientMessageId });
      const res = { event: "room.message.ack" as const, client_message_id: ev.clientMessageId, message };
      if (ack) ack(res);
      else conn.send(res);
    },
  };

  async function run<K extends RoomEventName>(conn: RoomsConnection, name: K, payload: unknown, ack: Ack | undefined): Promise<void> {
    try {
      // `room_id` may also come inside `data`, or from a raw-ws connection's path.
      const ev = parseEvent(SCHEMAS[name], normaliseRoomEvent(payload, conn.pathRoom));
      assertOwnUser(payload, conn.identity);
      await handlers[name](conn, ev, ack);
    } catch (err) {
      replyError(conn, ack, err, refOf(payload, name), logger);
    }
  }

  /** The last event of each connection still being handled (or done): the next one waits for it. */
  const tails = new WeakMap<RoomsConnection, Promise<void>>();

  return {
    /**
     * Handles one room event of `conn`. One connection's events are handled one after another, in
     * the order they arrived: a join is complete (subscribed, membership announced) before the
     * send that follows it, and two sends are stored in the order they were sent. The transport's
     * flood guard has counted each event on arrival, so a flood cannot queue up work.
     */
    handle(conn: RoomsConnection, name: RoomEventName, payload: unknown, ack?: Ack): Promise<void> {
      const handled = (tails.get(conn) ?? Promise.resolve()).then(() => run(conn, name, payload, ack));
      tails.set(conn, handled);
      return handled;
    },
  };
}

export type RoomsHandler = ReturnType<typeof createRoomsHandler>;
