// The presence protocol, independent of transport (CONTRACT §7 presence, §10): a bulk update on
// connect, heartbeats checked against the token, and every authenticated connection counted so
// several tabs are one presence and a closed last tab goes offline after the grace.
import { AppError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { PresenceService } from "../../presence/index.js";
import { PRESENCE_INBOUND, type PresenceEventName } from "../protocol/index.js";
import type { Ack, Connection } from "../connection.js";
import { assertOwnUser, parseEvent, replyError } from "./event-input.js";

export const BULK_LIMIT = 500;

export interface PresenceHandlerDeps {
  readonly presence: PresenceService;
  readonly allowAnonymous: boolean;
  readonly logger: Logger;
}

const userOf = (conn: Connection) => (conn.identity?.kind === "user" ? conn.identity.userId : undefined);

export function createPresenceHandler({ presence, allowAnonymous, logger }: PresenceHandlerDeps) {
  const fail = (err: unknown) => logger.warn({ err }, "presence store call failed");

  async function heartbeat(conn: Connection, payload: unknown, ack: Ack | undefined): Promise<void> {
    const claimed = parseEvent(PRESENCE_INBOUND["presence.heartbeat"], payload ?? {}).user_id;
    const me = userOf(conn);
    let userId: string;
    if (me) {
      assertOwnUser(payload, conn.identity);
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
    onOpen(conn: Connection): void {
      const me = userOf(conn);
      if (me) presence.connectionOpened(me, conn.id).catch(fail);
      presence
        .onlineUsers(BULK_LIMIT)
        .then((users) => conn.send({ event: "presence.bulk_update", users }))
        .catch(fail);
    },

    async handle(conn: Connection, name: PresenceEventName, payload: unknown, ack?: Ack): Promise<void> {
      try {
        await heartbeat(conn, payload, ack);
      } catch (err) {
        replyError(conn, ack, err, name, logger);
      }
    },

    onClose(conn: Connection): void {
      const me = userOf(conn);
      if (me) presence.connectionClosed(me, conn.id).catch(fail);
    },
  };
}

export type PresenceHandler = ReturnType<typeof createPresenceHandler>;
