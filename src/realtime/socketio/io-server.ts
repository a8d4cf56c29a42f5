// The worker's Socket.IO server, typed with the protocol's event maps: CORS from the same
// allowlist as REST, and token authentication per §3. It needs no adapter across workers: room
// events reach every worker on the room-event bus (src/realtime/bus/), and every emit here is to
// this worker's own sockets.
import { EventEmitter } from "node:events";
import type http from "node:http";
import { Server } from "socket.io";
import { bearer, identityOrReason, type TokenVerifier } from "../../auth/verify-token.js";
import { listenerOnlyError } from "../protocol/index.js";
import { createOriginCheck } from "../../http/cors.js";
import { emitEvent, type CityServer, type CitySocket } from "./city-socket.js";

export interface IoServerOptions {
  readonly corsOrigins: readonly string[] | "localhost";
  readonly verify: TokenVerifier;
}

export function createIoServer(httpServer: http.Server, opts: IoServerOptions) {
  const allowed = createOriginCheck(opts.corsOrigins);
  const io: CityServer = new Server(httpServer, {
    serveClient: false,
    // The raw-ws shim shares this HTTP server: engine.io must not destroy upgrades it does not own.
    destroyUpgrade: false,
    maxHttpBufferSize: 1e6,
    cors: { origin: (origin, cb) => cb(null, origin ? allowed(origin) : true), credentials: true },
  });

  // Keep what auth needs (the token of the query or header, per engine.io connection) and drop
  // the handshake request: it is the largest thing an idle connection would otherwise hold on to.
  const tokens = new WeakMap<object, string | undefined>();
  io.engine.on("connection", (raw: { request: http.IncomingMessage | null; transport?: { socket?: unknown } }) => {
    const req = raw.request;
    if (req) tokens.set(raw, new URL(req.url ?? "/", "http://x").searchParams.get("token") ?? bearer(req.headers.authorization));
    raw.request = null;
    releaseUpgradeRequest(raw.transport?.socket);
  });

  /** Namespace middleware: a valid token gives an identity; no token means anonymous. A bad
   *  token (expired, forged, `null`) also connects, as an anonymous listener: the namespace tells
   *  the client why at once (announceAuthError) and then treats it exactly like a tokenless one
   *  (CONTRACT §3). Identity only ever comes from a verified token. */
  const authenticate = (socket: CitySocket, next: (err?: Error) => void) => {
    const auth: unknown = socket.handshake.auth;
    const given = auth && typeof auth === "object" && "token" in auth ? auth.token : undefined;
    const token = (typeof given === "string" && given ? given : undefined) ?? tokens.get(socket.conn);
    const { identity, reason } = token ? identityOrReason(opts.verify, token.replace(/^Bearer\s+/i, "")) : {};
    socket.data = { identity, authError: reason };
    next();
  };

  return {
    io,
    authenticate,
    /** Clients reconnect (elsewhere): io.close() closes each engine connection, which a client
     *  treats as a lost transport. disconnectSockets(true) would tell them to stay away. */
    async close() {
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

export type IoServer = ReturnType<typeof createIoServer>;

/** On connection: a socket whose token was refused hears why, once, before anything else. */
export function announceAuthError(socket: CitySocket): void {
  const why = socket.data.authError;
  if (why) emitEvent(socket, listenerOnlyError(why));
}

/**
 * engine.io's WebSocket upgrade leaves two listeners behind that hold the upgrade request (its
 * headers, URL and parsed query) for as long as the connection lives, even once `request` is
 * dropped: a no-op 'error' listener on the ws socket (the transport has its own) and, on the TCP
 * socket, a 'close' relay to a response stand-in that keeps the request. Both serve only the
 * upgrade itself. Removing them lets the request be collected.
 */
function releaseUpgradeRequest(ws: unknown): void {
  if (!(ws instanceof EventEmitter)) return;
  for (const l of ws.listeners("error")) if (l.name === "onUpgradeError") ws.removeListener("error", l as (...a: unknown[]) => void);
  const tcp = (ws as { _socket?: unknown })._socket;
  if (!(tcp instanceof EventEmitter)) return;
  for (const l of tcp.listeners("close")) {
    if (String(l) === '() => this.emit("close")') tcp.removeListener("close", l as (...a: unknown[]) => void);
  }
}
