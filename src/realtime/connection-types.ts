// What a transport gives the protocol handlers for one connection.
import type { Identity } from "../auth/identity.js";
import type { FloodGuard } from "./flood-guard.js";
import type { ServerEvent } from "./protocol/outbound.js";

export interface Connection {
  /** Unique per connection across the cluster (presence counts tabs by it). */
  readonly id: string;
  readonly identity: Identity | undefined;
  readonly guard: FloodGuard;
  send(event: ServerEvent): void;
  disconnect(reason: string): void;
}

export type Ack = (response: unknown) => void;

/** Output a client may leave unread before it is dropped, on either protocol. */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;

/** The presence protocol as the transports call it (implemented in presence-handler.ts). */
export interface PresenceProtocol {
  onOpen(conn: Connection): void;
  onEvent(conn: Connection, name: string, payload: unknown, ack?: Ack): Promise<void>;
  onClose(conn: Connection): void;
}
