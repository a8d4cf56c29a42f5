// The raw-WebSocket shim (CONTRACT §7, §10): /ws/city/rooms/{room_id} and /ws/city/presence, and
// their `/v1` dialect, on the same HTTP server as Koa and Socket.IO. Frames are JSON objects with
// an `event` field; the protocol handlers are the ones Socket.IO uses. Raw-ws clients are
// first-class room members: the room hub delivers to them directly on every worker.
import type http from "node:http";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import type { Identity } from "../../auth/identity.js";
import { bearer, identityOrReason, type TokenVerifier } from "../../auth/verify-token.js";
import { AppError, toAppError } from "../../core/errors.js";
import { rawAppErrorResponse } from "../../http/raw-error.js";
import type { Logger } from "../../core/logger.js";
import { stripPrefix } from "../../http/prefix.js";
import type { RoomHub } from "../room-hub.js";
import { fanOut, type WsMember } from "../fan-out.js";
import type { WsRooms } from "./ws-rooms.js";
import type { RoomsHandler, RoomsConnection } from "../rooms-handler.js";
import { MAX_PENDING_OUTPUT_BYTES, type Connection, type PresenceProtocol } from "../connection-types.js";
import { FloodGuard } from "../flood-guard.js";
import { MAX_FRAME_BYTES } from "../protocol/inbound.js";
import { encodeFrame, errorEvent, listenerOnlyError, type ServerEvent, type WsDialect } from "../protocol/outbound.js";
import type { DropReason } from "../realtime-metrics.js";

/** Frames above MAX_FRAME_BYTES get an error; above this the ws library closes the socket. */
const HARD_MAX_PAYLOAD = 1024 * 1024;
const PING_INTERVAL_MS = 30_000;
const PONG_TYPE = Buffer.from(JSON.stringify({ type: "pong" }));

export interface WsShimDeps {
  readonly verify: TokenVerifier;
  readonly hub: RoomHub;
  /** This worker's raw-ws members of rooms (the hub delivers to them). */
  readonly wsRooms: WsRooms;
  readonly rooms: { assertRoom(roomId: string): Promise<void> };
  readonly handleRoom: RoomsHandler;
  readonly presence?: PresenceProtocol;
  readonly logger: Logger;
  /** Answered to `{event:"server.info"}`, so clients and tests can see which worker serves them. */
  readonly workerId: string;
  /** Told when the shim cuts a client off (metrics); optional. */
  readonly onDrop?: (reason: DropReason) => void;
}

type Route = { kind: "rooms"; roomId: string } | { kind: "presence" };

function route(pathname: string): Route | undefined {
  const m = /^\/ws\/city\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (m) return { kind: "rooms", roomId: safeDecode(m[1]!) };
  if (/^\/ws\/city\/presence\/?$/.test(pathname)) return { kind: "presence" };
  return undefined;
}

/** A malformed escape (`%FF`, `%`) threw out of the upgrade handler and took the worker down;
 *  it stays undecoded instead, which no room id matches (404). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Ends a refused upgrade with the JSON error body and the error's own status. */
function refuse(socket: Duplex, err: AppError, headers?: Record<string, string>): void {
  if (socket.destroyed) return;
  socket.once("finish", () => socket.destroy());
  socket.end(rawAppErrorResponse(err, headers));
}

/** The handshake checks of the ws library, answered in JSON (it would send text/html). */
function handshakeError(err: Error): { error: AppError; headers?: Record<string, string> } {
  if (/method/i.test(err.message)) return { error: new AppError("method_not_allowed", "A WebSocket upgrade must be a GET request") };
  const version = /Sec-WebSocket-Version/i.test(err.message);
  return { error: new AppError("validation_failed", `WebSocket handshake refused: ${err.message}`), headers: version ? { "Sec-WebSocket-Version": "13, 8" } : undefined };
}

export function attachWsShim(server: http.Server, deps: WsShimDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: true });
  wss.on("wsClientError", (err: Error, socket: Duplex) => {
    const { error, headers } = handshakeError(err);
    refuse(socket, error, headers);
  });
  const alive = new WeakSet<WebSocket>();
  /** Presence sockets of this worker, for presence.update; and every socket by user, for pushes. */
  const presenceMembers = new Set<WsMember>();
  const byUser = new Map<string, Set<WsMember>>();

  function track(ws: WebSocket, member: WsMember, identity: Identity | undefined): void {
    const userId = identity?.kind === "user" ? identity.userId : undefined;
    if (!userId) return;
    let set = byUser.get(userId);
    if (!set) byUser.set(userId, (set = new Set()));
    set.add(member);
    ws.once("close", () => {
      set.delete(member);
      if (set.size === 0) byUser.delete(userId);
    });
  }


  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        deps.onDrop?.("unresponsive");
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://x");
    } catch {
      return refuse(socket, new AppError("validation_failed", "Malformed request target")); // "//[" and the like
    }
    if (url.pathname.startsWith("/socket.io/")) return; // engine.io's own upgrade handler
    void (async () => {
      const { path, dialect } = stripPrefix(url.pathname);
      const r = route(path);
      if (!r) return refuse(socket, new AppError("not_found", `No WebSocket endpoint at ${url.pathname.slice(0, 200)}`));
      // A bad token (expired, forged, `null`) does not refuse the upgrade: the client connects as
      // an anonymous listener and is told why in its first frame (CONTRACT §3).
      const token = url.searchParams.get("token") || bearer(req.headers.authorization);
      const { identity, reason: authError } = token ? identityOrReason(deps.verify, token) : {};
      try {
        if (r.kind === "rooms") await deps.rooms.assertRoom(r.roomId);
      } catch (raw) {
        return refuse(socket, toAppError(raw));
      }
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        alive.add(ws);
        ws.on("pong", () => alive.add(ws));
        if (authError) sendFrame(ws, Buffer.from(encodeFrame(dialect, listenerOnlyError(authError))));
        if (r.kind === "rooms") serveRooms(ws, identity, dialect, r.roomId, url.searchParams.get("last_message_id") ?? undefined);
        else servePresence(ws, identity, dialect);
      });
    })().catch((err: unknown) => {
      // Whatever went wrong, it ends this upgrade, not the worker.
      deps.logger.error({ err, path: url.pathname }, "websocket upgrade failed");
      refuse(socket, toAppError(err));
    });
  });

  function baseConnection(ws: WebSocket, identity: Identity | undefined, dialect: WsDialect): Connection & WsMember {
    return {
      id: randomUUID(),
      identity,
      dialect,
      guard: new FloodGuard(),
      send: (ev: ServerEvent) => sendFrame(ws, Buffer.from(encodeFrame(dialect, ev))),
      sendFrame: (frame: Buffer) => sendFrame(ws, frame),
      disconnect: () => ws.close(1008, "flood"),
    };
  }

  function sendFrame(ws: WebSocket, frame: Buffer): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount + frame.length > MAX_PENDING_OUTPUT_BYTES) {
      deps.onDrop?.("slow_reader");
      ws.terminate(); // a reader this slow would hold unbounded memory
      return;
    }
    ws.send(frame, { binary: false });
  }

  /** Parses a frame; answers ping and protocol errors itself; returns [name, payload] otherwise. */
  function parse(conn: Pick<Connection, "send"> & WsMember, data: RawData, isBinary: boolean): [string, Record<string, unknown>] | undefined {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    if (size > MAX_FRAME_BYTES) {
      conn.send(errorEvent("payload_too_large", `Frames are limited to ${MAX_FRAME_BYTES} bytes`));
      return undefined;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.concat(data as Buffer[]).toString("utf8"));
    } catch {
      conn.send(errorEvent("invalid_json", isBinary ? "Send JSON text frames" : "Frame is not valid JSON"));
      return undefined;
    }
    if (!msg || typeof msg !== "object" || Array.isArray(msg)) {
      conn.send(errorEvent("validation_failed", "A frame must be a JSON object with an event field"));
      return undefined;
    }
    const obj = msg as Record<string, unknown>;
    if (obj.type === "ping" || obj.event === "ping") {
      // Answer in kind: the front end sends {type:"ping"}, others {event:"ping"}.
      if (obj.type === "ping") conn.sendFrame(PONG_TYPE);
      else conn.send({ event: "pong" });
      return undefined;
    }
    if (obj.event === "server.info") {
      conn.sendFrame(Buffer.from(JSON.stringify({ event: "server.info", worker: deps.workerId })));
      return undefined;
    }
    const name = typeof obj.event === "string" ? obj.event.replace(/^city\./, "") : undefined;
    if (!name) {
      conn.send(errorEvent("validation_failed", "event: is required"));
      return undefined;
    }
    return [name, obj];
  }

  function serveRooms(ws: WebSocket, identity: Identity | undefined, dialect: WsDialect, firstRoom: string, lastMessageId?: string): void {
    const base = baseConnection(ws, identity, dialect);
    const joined = new Set<string>();
    let closed = false;
    track(ws, base, identity);
    const conn: RoomsConnection & WsMember = {
      ...base,
      protocol: "ws",
      get closed() {
        return closed;
      },
      pathRoom: firstRoom,
      addLive: (roomId) => {
        joined.add(roomId);
        deps.wsRooms.add(roomId, conn);
      },
      removeLive: (roomId) => {
        joined.delete(roomId);
        deps.wsRooms.remove(roomId, conn);
      },
    };
    ws.on("message", (data, isBinary) => {
      const parsed = parse(conn, data, isBinary);
      if (parsed) void deps.handleRoom(conn, parsed[0], parsed[1]);
    });
    ws.on("close", () => {
      closed = true; // a join still in flight subscribes nothing from now on
      for (const roomId of joined) deps.wsRooms.remove(roomId, conn);
      deps.hub.forget(conn, joined);
      joined.clear();
    });
    ws.on("error", () => {});
    // The path names a room: join it at once; `?last_message_id=` replays what was missed.
    void deps.handleRoom(conn, "room.join", lastMessageId ? { room_id: firstRoom, last_message_id: lastMessageId } : { room_id: firstRoom });
  }

  function servePresence(ws: WebSocket, identity: Identity | undefined, dialect: WsDialect): void {
    const conn = baseConnection(ws, identity, dialect);
    track(ws, conn, identity);
    presenceMembers.add(conn);
    deps.presence?.onOpen(conn);
    ws.on("message", (data, isBinary) => {
      const parsed = parse(conn, data, isBinary);
      if (!parsed) return;
      if (!deps.presence) {
        conn.send(errorEvent("unavailable", "Presence is not available"));
        return;
      }
      void deps.presence.onEvent(conn, parsed[0], parsed[1]);
    });
    ws.on("close", () => {
      presenceMembers.delete(conn);
      deps.presence?.onClose(conn);
    });
    ws.on("error", () => {});
  }

  return {
    /** Sends to this worker's presence sockets. */
    toPresenceClients: (ev: ServerEvent) => fanOut(presenceMembers, ev),
    /** Sends to this worker's sockets of one user (any path). */
    toUser: (userId: string, ev: ServerEvent) => {
      const set = byUser.get(userId);
      if (set) fanOut(set, ev);
    },
    /** Tells every raw-ws client to reconnect elsewhere (1012: service restart). */
    async close(): Promise<void> {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.close(1012, "server restarting");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    get clientCount() {
      return wss.clients.size;
    },
    /** Of clientCount, those on the presence path. */
    get presenceCount() {
      return presenceMembers.size;
    },
  };
}
