// The raw-WebSocket shim (CONTRACT §7, §10): /ws/city/rooms/{room_id} and /ws/city/presence, and
// their `/v1` dialect, on the same HTTP server as Koa and Socket.IO. Frames are JSON objects with
// an `event` field (ws-connection.ts); the protocol handlers are the ones Socket.IO uses. Raw-ws
// clients are first-class room members: the hub delivers to them through ws-rooms.ts.
import type http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Identity } from "../../auth/identity.js";
import { bearer, identityOrReason, type TokenVerifier } from "../../auth/verify-token.js";
import { AppError, toAppError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { rawAppErrorResponse } from "../../http/raw-error.js";
import { stripPrefix } from "../../http/prefix.js";
import type { RoomHub } from "../hub/room-hub.js";
import type { RoomsConnection } from "../handlers/rooms-handler.js";
import type { RoomEventHandler } from "../socketio/rooms-namespace.js";
import type { PresenceEvents } from "../socketio/presence-namespace.js";
import { isPresenceEvent, isRoomEvent, listenerOnlyError, type ServerEvent } from "../protocol/index.js";
import type { DropReason } from "../realtime-metrics.js";
import { fanOut, type WsMember } from "./fan-out.js";
import type { WsRooms } from "./ws-rooms.js";
import { readFrames, unknownEvent, wsConnection, type WsConnection } from "./ws-connection.js";

/** Frames above MAX_FRAME_BYTES get an error; above this the ws library closes the socket. */
const HARD_MAX_PAYLOAD = 1024 * 1024;
const PING_INTERVAL_MS = 30_000;

export interface WsShimDeps {
  readonly verify: TokenVerifier;
  readonly hub: RoomHub;
  /** This worker's raw-ws members of rooms (the hub delivers to them). */
  readonly wsRooms: WsRooms;
  readonly rooms: { assertRoom(roomId: string): Promise<void> };
  readonly handleRoom: RoomEventHandler;
  readonly presence: PresenceEvents;
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
        const conn = wsConnection(ws, { identity, dialect, onDrop: deps.onDrop });
        track(ws, conn, identity);
        if (authError) conn.send(listenerOnlyError(authError));
        if (r.kind === "rooms") serveRooms(ws, conn, r.roomId, url.searchParams.get("last_message_id") ?? undefined);
        else servePresence(ws, conn);
      });
    })().catch((err: unknown) => {
      // Whatever went wrong, it ends this upgrade, not the worker.
      deps.logger.error({ err, path: url.pathname }, "websocket upgrade failed");
      refuse(socket, toAppError(err));
    });
  });

  function serveRooms(ws: WebSocket, base: WsConnection, firstRoom: string, lastMessageId?: string): void {
    const joined = new Set<string>();
    const conn: RoomsConnection & WsConnection = Object.assign(base, {
      protocol: "ws" as const,
      pathRoom: firstRoom,
      addLive: (roomId: string) => {
        joined.add(roomId);
        deps.wsRooms.add(roomId, conn);
      },
      removeLive: (roomId: string) => {
        joined.delete(roomId);
        deps.wsRooms.remove(roomId, conn);
      },
    });
    readFrames(ws, conn, deps.workerId, (name, payload) => {
      if (isRoomEvent(name)) void deps.handleRoom(conn, name, payload);
      else conn.send(unknownEvent(name, payload));
    });
    ws.on("close", () => {
      // conn.closed is true from now: a join still in flight subscribes nothing.
      for (const roomId of joined) deps.wsRooms.remove(roomId, conn);
      deps.hub.forget(conn, joined);
      joined.clear();
    });
    // The path names a room: join it at once; `?last_message_id=` replays what was missed.
    void deps.handleRoom(conn, "room.join", lastMessageId ? { room_id: firstRoom, last_message_id: lastMessageId } : { room_id: firstRoom });
  }

  function servePresence(ws: WebSocket, conn: WsConnection): void {
    presenceMembers.add(conn);
    deps.presence.onOpen(conn);
    readFrames(ws, conn, deps.workerId, (name, payload) => {
      if (isPresenceEvent(name)) void deps.presence.handle(conn, name, payload);
      else conn.send(unknownEvent(name, payload));
    });
    ws.on("close", () => {
      presenceMembers.delete(conn);
      deps.presence.onClose(conn);
    });
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

export type WsShim = ReturnType<typeof attachWsShim>;
