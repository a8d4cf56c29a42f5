// The Socket.IO event maps, inferred from the protocol's schemas and threaded through Socket.IO's
// generics (`Server<ClientToServer, ServerToClient, InterServer, SocketData>`), so a wrong payload
// or an unknown event is a compile error on either side (test/types/protocol.types.ts). The
// server still parses every inbound payload: a client may send anything.
import type { z } from "zod";
import type { Identity } from "../../auth/identity.js";
import { DIAGNOSTIC_INBOUND, PRESENCE_INBOUND, ROOM_INBOUND } from "./inbound.js";
import type { ACKS, AckOf, Outbound } from "./outbound.js";

export const INBOUND = { ...ROOM_INBOUND, ...PRESENCE_INBOUND, ...DIAGNOSTIC_INBOUND };
export type InboundName = keyof typeof INBOUND & keyof typeof ACKS;

/** Client → server: the payload a client sends, and the ack it may ask for. */
export type ClientToServer = {
  [K in InboundName]: (payload: z.input<(typeof INBOUND)[K]>, ack?: (response: AckOf<K>) => void) => void;
};

/** Server → client: every outbound event with its payload. */
export type ServerToClient = { [K in keyof Outbound]: (payload: Outbound[K]) => void };

/** Between servers: nothing; room events travel on the room-event bus (src/realtime/bus/). */
export type InterServer = Record<never, never>;

export interface SocketData {
  identity: Identity | undefined;
  /** Why the token sent with the handshake was not accepted (the socket is an anonymous listener). */
  authError?: string;
}
