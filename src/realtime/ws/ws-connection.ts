// One raw-ws connection: its outbound frames (bounded: a reader that stops reading is dropped),
// and its inbound frames, each counted by the flood guard, decoded, and handed to the protocol
// handler of its path (rooms or presence); pings and `server.info` are answered here.
import { randomUUID } from "node:crypto";
import { WebSocket, type RawData } from "ws";
import type { Identity } from "../../auth/identity.js";
import { errorEvent, decodeFrame, encodeFrame, type ServerEvent, type WsDialect } from "../protocol/index.js";
import { MAX_PENDING_OUTPUT_BYTES, type Connection } from "../connection.js";
import { admitFrame, FloodGuard } from "../flood-guard.js";
import { refOf } from "../handlers/event-input.js";
import type { DropReason } from "../realtime-metrics.js";
import type { WsMember } from "./fan-out.js";

const PONG_TYPE = Buffer.from(JSON.stringify({ type: "pong" }));

export interface WsConnectionOptions {
  readonly identity: Identity | undefined;
  readonly dialect: WsDialect;
  readonly onDrop?: (reason: DropReason) => void;
}

export type WsConnection = Connection & WsMember & { readonly closed: boolean };

/** What a path does with the events of its connections (rooms or presence). */
export type EventRoute = (name: string, payload: Record<string, unknown>) => void;

const toBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/** The connection's send side (readFrames is its receive side). */
export function wsConnection(ws: WebSocket, opts: WsConnectionOptions): WsConnection {
  let closed = false;
  ws.once("close", () => (closed = true));
  const sendFrame = (frame: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount + frame.length > MAX_PENDING_OUTPUT_BYTES) {
      opts.onDrop?.("slow_reader");
      ws.terminate(); // a reader this slow would hold unbounded memory
      return;
    }
    ws.send(frame, { binary: false });
  };
  return {
    id: randomUUID(),
    identity: opts.identity,
    dialect: opts.dialect,
    get closed() {
      return closed;
    },
    send: (ev: ServerEvent) => sendFrame(Buffer.from(encodeFrame(opts.dialect, ev))),
    sendFrame,
    disconnect: () => ws.close(1008, "flood"),
  };
}

/** Reads the connection's frames: every one passes the flood guard (pings and bad frames too);
 *  `server.info` is answered with `workerId`. */
export function readFrames(ws: WebSocket, conn: WsConnection, workerId: string, route: EventRoute): void {
  const guard = new FloodGuard();
  ws.on("message", (data, isBinary) => {
    const frame = decodeFrame(toBuffer(data), isBinary);
    const ref = frame.kind === "event" ? refOf(frame.payload, frame.name) : undefined;
    if (!admitFrame(guard, conn, ref)) return;
    if (frame.kind === "bad") return conn.send(frame.error);
    if (frame.kind === "ping") return frame.style === "type" ? conn.sendFrame(PONG_TYPE) : conn.send({ event: "pong" });
    if (frame.name === "server.info") return conn.send({ event: "server.info", worker: workerId });
    route(frame.name, frame.payload);
  });
  ws.on("error", () => {});
}

/** The answer to an event its path does not know. */
export const unknownEvent = (name: string, payload: unknown) =>
  errorEvent("validation_failed", `Unknown event "${name.slice(0, 60)}"`, refOf(payload, name));
