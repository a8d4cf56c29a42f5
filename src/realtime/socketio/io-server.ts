// The worker's Socket.IO server: Redis adapter (broadcasts and serverSideEmit reach every worker
// on every machine), CORS from the same allowlist as REST, and token authentication per §3.
import { EventEmitter } from "node:events";
import type http from "node:http";
import { Server, type Socket } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import type { Identity } from "../../auth/identity.js";
import { bearer, identityOrReason, type TokenVerifier } from "../../auth/verify-token.js";
import { listenerOnlyError } from "../protocol/outbound.js";
import { createOriginCheck } from "../../http/cors.js";
import { closeRedis, createRedis } from "../../infra/redis/redis.js";

export interface SocketData {
  identity: Identity | undefined;
  /** Why the token sent with the handshake was not accepted (the socket is an anonymous listener). */
  authError?: string;
}

/** Credentials read off the handshake request before it is dropped (see below). */
interface RawCredentials {
  cityToken?: string;
}

export interface IoServerOptions {
  readonly redisUrl: string;
  readonly corsOrigins: readonly string[] | "localhost";
  readonly verify: TokenVerifier;
  /** Called when the adapter's subscriber reconnects: broadcasts may have been lost meanwhile. */
  readonly onRedisReconnect?: () => void;
}

export function createIoServer(httpServer: http.Server, opts: IoServerOptions) {
  const pub = createRedis(opts.redisUrl, "pubsub", "city-io-pub");
  const sub = createRedis(opts.redisUrl, "pubsub", "city-io-sub");
  let readyOnce = false;
  sub.on("ready", () => {
    if (readyOnce) opts.onRedisReconnect?.();
    readyOnce = true;
  });
  const allowed = createOriginCheck(opts.corsOrigins);
  const io = new Server(httpServer, {
    serveClient: false,
    // The raw-ws shim shares this HTTP server: engine.io must not destroy upgrades it does not own.
    destroyUpgrade: false,
    maxHttpBufferSize: 1e6,
    cors: { origin: (origin, cb) => cb(null, origin ? allowed(origin) : true), credentials: true },
    adapter: createAdapter(pub, sub),
  });

  // Keep what auth needs and drop the handshake request: it is the largest thing an idle
  // connection would otherwise hold on to.
  io.engine.on("connection", (raw: { request: http.IncomingMessage | null; transport?: { socket?: unknown } } & RawCredentials) => {
    const req = raw.request;
    if (req) {
      const q = new URL(req.url ?? "/", "http://x").searchParams.get("token");
      raw.cityToken = q ?? bearer(req.headers.authorization);
    }
    raw.request = null;
    releaseUpgradeRequest(raw.transport?.socket);
  });

  /** Namespace middleware: a valid token gives an identity; no token means anonymous. A bad
   *  token (expired, forged, `null`) also connects, as an anonymous listener: the namespace tells
   *  the client why at once (announceAuthError) and then treats it exactly like a tokenless one
   *  (CONTRACT §3). Identity only ever comes from a verified token. */
  const authenticate = (socket: Socket, next: (err?: Error) => void) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token =
      (typeof auth?.token === "string" && auth.token ? auth.token : undefined) ?? (socket.conn as unknown as RawCredentials).cityToken;
    const { identity, reason } = token ? identityOrReason(opts.verify, token.replace(/^Bearer\s+/i, "")) : {};
    Object.assign(socket.data as SocketData, { identity, authError: reason });
    next();
  };

  return {
    io,
    authenticate,
    /** Clients reconnect (elsewhere): io.close() closes each engine connection, which a client
     *  treats as a lost transport. disconnectSockets(true) would tell them to stay away. */
    async close() {
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    },
  };
}

export type IoServer = ReturnType<typeof createIoServer>;

/** On connection: a socket whose token was refused hears why, once, before anything else. */
export function announceAuthError(socket: Socket): void {
  const why = (socket.data as SocketData).authError;
  if (why) socket.emit("error", listenerOnlyError(why));
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
