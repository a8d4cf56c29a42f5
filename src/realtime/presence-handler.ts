// The presence protocol, independent of transport (CONTRACT §7 presence, §10): a bulk update on
// connect, heartbeats checked against the token, and every authenticated connection counted so
// several tabs are one presence and a closed last tab goes offline after the grace.
import { AppError, toAppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import type { PresenceService } from "../presence/index.js";
import { PRESENCE_EVENTS } from "./protocol/inbound.js";
import { errorEvent } from "./protocol/outbound.js";
import type { Ack, Connection, PresenceProtocol } from "./connection-types.js";

export const BULK_LIMIT = 500;

export interface PresenceHandlerDeps {
  readonly presence: PresenceService;
  readonly allowAnonymous: boolean;
  readonly logger: Logger;
}

const userOf = (conn: Connection) => (conn.identity?.kind === "user" ? conn.identity.userId : undefined);

export function createPresenceHandler({ presence, allowAnonymous, logger }: PresenceHandlerDeps): PresenceProtocol {
  const fail = (err: unknown) => logger.warn({ err }, "presence store call failed");

  async function heartbeat(conn: Connection, payload: unknown, ack?: Ack): Promise<void> {
    const parsed = PRESENCE_EVENTS["presence.heartbeat"].safeParse(payload ?? {});
    if (!parsed.success) throw new AppError("validation_failed", "user_id: must be a string", { field: "user_id" });
    const claimed = parsed.data.user_id;
    const me = userOf(conn);
    let userId: string;
    if (me) {
      if (claimed !== undefined && claimed !== me) throw new AppError("forbidden", "user_id does not match the token's user");
      userId = me;
    } else if (allowAnonymous && claimed) {
      userId = claimed;
    } else {
      throw new AppError("unauthorized", "Heartbeats need a token: connect with auth.token or ?token=");
    }
    await presence.heartbeat(userId);
    ack?.({ event: "presence.heartbeat", user_id: userId, status: "online" });
  }

  return {
    onOpen(conn) {
      const me = userOf(conn);
      if (me) presence.connectionOpened(me, conn.id).catch(fail);
      presence
        .onlineUsers(BULK_LIMIT)
        .then((users) => conn.send({ event: "presence.bulk_update", users }))
        .catch(fail);
    },

    async onEvent(conn, name, payload, ack) {
      const verdict = conn.guard.take();
      if (verdict !== "ok") {
        // Answer the ack too, so an emitWithAck does not hang until the client's own timeout.
        const ev = errorEvent("rate_limited", "Too many events; slow down", name);
        conn.send(ev);
        ack?.(ev);
        if (verdict === "disconnect") conn.disconnect("flood");
        return;
      }
      try {
        if (name !== "presence.heartbeat") throw new AppError("validation_failed", `Unknown event "${String(name).slice(0, 60)}"`, { field: "event" });
        await heartbeat(conn, payload, ack);
      } catch (raw) {
        const err = toAppError(raw);
        const ev = errorEvent(err.code, err.message, name);
        conn.send(ev);
        ack?.(ev);
      }
    },

    onClose(conn) {
      const me = userOf(conn);
      if (me) presence.connectionClosed(me, conn.id).catch(fail);
    },
  };
}
