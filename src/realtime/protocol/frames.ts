// The raw-ws side of the protocol: each frame is one JSON object with an `event` field; the `/v1`
// dialect (the existing front end) names room events with a `city.` prefix (CONTRACT §10).
import { MAX_FRAME_BYTES, isRecord } from "./inbound.js";
import { errorEvent, type ErrorEvent, type ServerEvent } from "./outbound.js";

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

/** An inbound event name in either dialect, as the protocol names it. */
export const contractName = (name: string) => name.replace(/^city\./, "");

/** One inbound raw-ws frame, decoded: an event, a ping (answered in the style it came in), or a
 *  frame that is not an event, with the error that answers it. */
export type Frame =
  | { readonly kind: "event"; readonly name: string; readonly payload: Record<string, unknown> }
  | { readonly kind: "ping"; readonly style: "type" | "event" }
  | { readonly kind: "bad"; readonly error: ErrorEvent };

export function decodeFrame(data: Buffer, isBinary: boolean): Frame {
  if (data.byteLength > MAX_FRAME_BYTES) return bad("payload_too_large", `Frames are limited to ${MAX_FRAME_BYTES} bytes`);
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString("utf8"));
  } catch {
    return bad("invalid_json", isBinary ? "Send JSON text frames" : "Frame is not valid JSON");
  }
  if (!isRecord(msg)) return bad("validation_failed", "A frame must be a JSON object with an event field");
  const obj = msg;
  // Answered in kind: the existing front end sends {type:"ping"}, others {event:"ping"}.
  if (obj.type === "ping") return { kind: "ping", style: "type" };
  if (obj.event === "ping") return { kind: "ping", style: "event" };
  if (typeof obj.event !== "string" || !obj.event) return bad("validation_failed", "event: is required");
  return { kind: "event", name: contractName(obj.event), payload: obj };
}

const bad = (code: string, message: string): Frame => ({ kind: "bad", error: errorEvent(code, message) });
