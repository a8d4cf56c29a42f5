// Every server → client event (CONTRACT §7, §10) and its naming per dialect: the `/v1` raw-ws
// dialect names room events with a `city.` prefix; everything else speaks the contract names.
import type { Message } from "../../rooms/room-model.js";

export type PresenceStatus = "online" | "offline";

export interface RoomOutbound {
  "room.message": { event: "room.message"; room_id: string; message: Message };
  "room.join": { event: "room.join"; room_id: string; user_id: string };
  "room.leave": { event: "room.leave"; room_id: string; user_id: string };
  "room.presence": { event: "room.presence"; room_id: string; user_id: string; status: PresenceStatus };
  "room.message.ack": { event: "room.message.ack"; client_message_id: string | null; message: Message };
  /** A join's replay stopped at its cap after `last_message_id`; the connection is not live in the room. */
  "room.replay.truncated": { event: "room.replay.truncated"; room_id: string; last_message_id: string };
}

export interface PresenceOutbound {
  "presence.update": { event: "presence.update"; user_id: string; status: PresenceStatus; last_seen: string | null };
  "presence.bulk_update": { event: "presence.bulk_update"; users: { user_id: string; status: PresenceStatus; last_seen: string | null }[] };
}

export interface SecondMeOutbound {
  "secondme.status": { event: "secondme.status"; [k: string]: unknown };
  "secondme.reply": { event: "secondme.reply"; [k: string]: unknown };
}

export interface CommonOutbound {
  /** `retry_after` (seconds) comes with `rate_limited`, as in the REST error body. */
  error: { event: "error"; code: string; message: string; ref?: string; retry_after?: number };
  pong: { event: "pong" };
}

export type RoomEvent = RoomOutbound[keyof RoomOutbound];
/** The room events broadcast to a room (the ack and the truncation go only to one connection). */
export type RoomBroadcast = Exclude<RoomEvent, RoomOutbound["room.message.ack"] | RoomOutbound["room.replay.truncated"]>;
export type ServerEvent = RoomEvent | PresenceOutbound[keyof PresenceOutbound] | SecondMeOutbound[keyof SecondMeOutbound] | CommonOutbound[keyof CommonOutbound];

export type WsDialect = "contract" | "v1";

/** The name a dialect uses for an event. */
export function eventName(dialect: WsDialect, event: string): string {
  return dialect === "v1" && event.startsWith("room.") ? `city.${event}` : event;
}

/** One JSON frame for a raw-ws client of a dialect. */
export function encodeFrame(dialect: WsDialect, ev: ServerEvent): string {
  if (dialect === "v1" && ev.event.startsWith("room.")) return JSON.stringify({ ...ev, event: `city.${ev.event}` });
  return JSON.stringify(ev);
}

export function errorEvent(code: string, message: string, ref?: string, retryAfter?: number): CommonOutbound["error"] {
  const ev: CommonOutbound["error"] = ref === undefined ? { event: "error", code, message } : { event: "error", code, message, ref };
  if (retryAfter !== undefined) ev.retry_after = retryAfter;
  return ev;
}

/** Told to a connection whose token was refused: it stays connected as an anonymous listener. */
export function listenerOnlyError(why: string): CommonOutbound["error"] {
  return errorEvent("unauthorized", `${why}; connected as a listener only`);
}

/** Typed event maps for Socket.IO's generics: server → client listeners take the payload. */
export type ToClient<M> = { [K in keyof M]: (payload: M[K]) => void };

/** Every server → client event name at run time, per group (the API documents and their test
 *  read these). Typed as records over the interfaces' keys, so adding an event to an interface
 *  without listing it here, or listing one that does not exist, fails to compile. */
export const ROOM_OUTBOUND_EVENTS: { readonly [K in keyof RoomOutbound]: true } = {
  "room.message": true,
  "room.join": true,
  "room.leave": true,
  "room.presence": true,
  "room.message.ack": true,
  "room.replay.truncated": true,
};
export const PRESENCE_OUTBOUND_EVENTS: { readonly [K in keyof PresenceOutbound]: true } = { "presence.update": true, "presence.bulk_update": true };
export const SECONDME_OUTBOUND_EVENTS: { readonly [K in keyof SecondMeOutbound]: true } = { "secondme.status": true, "secondme.reply": true };
export const COMMON_OUTBOUND_EVENTS: { readonly [K in keyof CommonOutbound]: true } = { error: true, pong: true };
