// What a transport gives the protocol handlers for one connection, whichever transport it is.
import type { Identity } from "../auth/identity.js";
import type { ServerEvent } from "./protocol/index.js";

export interface Connection {
  /** Unique per connection across the cluster (presence counts tabs by it). */
  readonly id: string;
  readonly identity: Identity | undefined;
  send(event: ServerEvent): void;
  disconnect(reason: string): void;
}

/** The answer to an inbound event that asked for one (a Socket.IO ack). */
export type Ack = (response: ServerEvent | AckResponse) => void;

/** Ack payloads that are not events of their own (see ACKS in the protocol). */
export type AckResponse =
  | { event: "room.join"; room_id: string; user_id: string | null }
  | { event: "room.leave"; room_id: string }
  | { event: "presence.heartbeat"; user_id: string; status: "online" };

/** Output a client may leave unread before it is dropped, on either protocol. */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;
