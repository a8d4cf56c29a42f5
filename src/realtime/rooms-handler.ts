// The rooms protocol, independent of transport: Socket.IO and the raw-ws shim both hand every
// inbound event to handleRoomEvent with a RoomsConnection adapter, so behaviour cannot drift.
import { AppError, toAppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { actorId, type Identity } from "../auth/identity.js";
import type { RoomsService } from "../rooms/rooms-service.js";
import { ROOM_EVENTS, normaliseRoomEvent } from "./protocol/inbound.js";
import { errorEvent } from "./protocol/outbound.js";
import type { RoomHub, RoomMember } from "./room-hub.js";
import { replayThenLive } from "./replay.js";
import type { Ack, Connection } from "./connection-types.js";

export interface RoomsConnection extends Omit<Connection, "id">, RoomMember {
  /** The room a raw-ws connection was opened on (`/ws/city/rooms/{room_id}`): events that name no
   *  room are about it (CONTRACT §10). Socket.IO has none. */
  readonly pathRoom?: string;
}

export interface RoomsHandlerDeps {
  readonly rooms: RoomsService;
  readonly hub: RoomHub;
  readonly logger: Logger;
  /** Per-author message limits shared with REST across every worker (src/ratelimit). */
  readonly limits?: { checkMessage(who: Identity): Promise<void> };
}

export function createRoomsHandler({ rooms, hub, logger, limits }: RoomsHandlerDeps) {
  async function dispatch(conn: RoomsConnection, name: string, payload: unknown, ack?: Ack): Promise<void> {
    // Own keys only: an event named "constructor" or "valueOf" must not find Object.prototype's.
    const schema = Object.hasOwn(ROOM_EVENTS, name) ? ROOM_EVENTS[name as keyof typeof ROOM_EVENTS] : undefined;
    if (!schema) throw new AppError("validation_failed", `Unknown event "${String(name).slice(0, 60)}"`, { field: "event" });
    // `room_id` may also come inside `data`, or from a raw-ws connection's path.
    const parsed = schema.safeParse(normaliseRoomEvent(name, payload, conn.pathRoom));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "payload";
      throw new AppError("validation_failed", `${field}: ${issue?.message ?? "invalid"}`, { field });
    }
    const who = conn.identity;
    // A client never speaks for another user: a user_id in the event must be the token's.
    const claimed = (payload as { user_id?: unknown }).user_id;
    if (claimed !== undefined && (!who || claimed !== actorId(who))) {
      throw new AppError(who ? "forbidden" : "unauthorized", "user_id does not match the token's user");
    }
    switch (name) {
      case "room.join": {
        const ev = parsed.data as { room_id: string; last_message_id?: string };
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
        const changed = who ? (await rooms.join(who, ev.room_id)).changed : false;
        if (ack) ack({ event: "room.join", room_id: ev.room_id, user_id: who ? actorId(who) : null });
        // Raw ws has no ack: a member already in the room (another tab, a repeated join) causes no
        // broadcast, so confirm the join to this connection alone. Anonymous listeners get none: a
        // room.join without a user would read as someone joining in a front end's member list.
        else if (who && !changed) conn.send({ event: "room.join", room_id: ev.room_id, user_id: actorId(who) });
        return;
      }
      case "room.leave": {
        const ev = parsed.data as { room_id: string };
        hub.leave(ev.room_id, conn);
        if (who) await rooms.leave(who, ev.room_id).catch((err) => logger.debug({ err }, "leave of an unknown room"));
        ack?.({ event: "room.leave", room_id: ev.room_id });
        return;
      }
      case "room.message.send": {
        if (!who) throw new AppError("unauthorized", "Sending needs a token: connect with auth.token or ?token=");
        await limits?.checkMessage(who);
        const ev = parsed.data as { room_id: string; body: string; clientMessageId: string | null };
        const { message } = await rooms.postMessage(who, ev.room_id, { body: ev.body, clientMessageId: ev.clientMessageId });
        const res = { event: "room.message.ack" as const, client_message_id: ev.clientMessageId, message };
        if (ack) ack(res);
        else conn.send(res);
        return;
      }
    }
  }

  /** The last event of each connection still being handled (or done): the next one waits for it. */
  const tails = new WeakMap<RoomsConnection, Promise<void>>();

  return async function handleRoomEvent(conn: RoomsConnection, name: string, payload: unknown, ack?: Ack): Promise<void> {
    const verdict = conn.guard.take();
    if (verdict !== "ok") {
      // The ack is answered too: a client awaiting it (emitWithAck) must not hang until its own
      // timeout for an event that was refused.
      const err = errorEvent("rate_limited", "Too many events; slow down", refOf(payload) ?? name);
      conn.send(err);
      ack?.(err);
      if (verdict === "disconnect") conn.disconnect("flood");
      return;
    }
    // One connection's events are handled one after another, in the order they arrived: a join
    // is complete (subscribed, membership announced) before the send that follows it, and two
    // sends are stored in the order they were sent. The flood guard above still counts each event
    // on arrival, so a flood cannot queue up work.
    const handled = (tails.get(conn) ?? Promise.resolve()).then(() => handle(conn, name, payload, ack));
    tails.set(conn, handled.catch(() => {})); // a failure of this one must not stop the next
    await handled;
  };

  async function handle(conn: RoomsConnection, name: string, payload: unknown, ack?: Ack): Promise<void> {
    try {
      await dispatch(conn, name, payload, ack);
    } catch (raw) {
      const err = toAppError(raw);
      if (err.status >= 500 && err.code !== "unavailable") logger.error({ err: raw, event: name }, "room event failed");
      const ref = refOf(payload) ?? name;
      const retryAfter = err.details?.retryAfter;
      const ev = errorEvent(err.code, err.message, ref, typeof retryAfter === "number" ? retryAfter : undefined);
      conn.send(ev);
      ack?.(ev);
    }
  }
}

function refOf(payload: unknown): string | undefined {
  if (!payload || typeof payload !== "object") return undefined;
  const p = payload as Record<string, unknown>;
  // The Next.js client nests its fields in `data` (CONTRACT §10).
  const data = p.data && typeof p.data === "object" ? (p.data as Record<string, unknown>) : undefined;
  const v = p.client_message_id ?? p.ref ?? data?.client_message_id;
  return typeof v === "string" ? v.slice(0, 128) : undefined;
}

export type RoomsHandler = ReturnType<typeof createRoomsHandler>;
