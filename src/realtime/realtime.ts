// Builds one worker's realtime side on its HTTP server: Socket.IO (namespaces /city/rooms and
// /city/presence over the Redis adapter), the raw-ws shim, the room hub they share, presence
// transitions fanned out to this worker's clients, and pushes to one user's sockets.
import type http from "node:http";
import type { TokenVerifier } from "../auth/verify-token.js";
import type { Logger } from "../core/logger.js";
import { closeRedis, createRedis } from "../infra/redis/redis.js";
import type { RoomsService } from "../rooms/rooms-service.js";
import { subscribeTransitions, type PresenceService, type PresenceTransition, type TransitionSubscription } from "../presence/index.js";
import { RoomHub } from "./room-hub.js";
import { createRoomsHandler, type RoomsHandlerDeps } from "./rooms-handler.js";
import { createPresenceHandler } from "./presence-handler.js";
import { createIoServer } from "./socketio/io-server.js";
import { watchSlowReaders } from "./socketio/slow-readers.js";
import { bindRoomsNamespace, ROOMS_NAMESPACE } from "./socketio/rooms-namespace.js";
import { bindPresenceNamespace, PRESENCE_NAMESPACE, userRoom } from "./socketio/presence-namespace.js";
import { attachWsShim } from "./ws/ws-shim.js";
import type { RoomBroadcast, ServerEvent } from "./protocol/outbound.js";
import { InFlight } from "./in-flight.js";
import type { RealtimeMetrics, RealtimeStats } from "./realtime-metrics.js";
import { WsRooms } from "./ws/ws-rooms.js";
import { socketIoRooms } from "./socketio/socketio-rooms.js";

/** The Socket.IO server-side event that carries a room event to every other worker. */
const PEER_EVENT = "city:room-event";

export interface RealtimeDeps {
  readonly redisUrl: string;
  readonly corsOrigins: readonly string[] | "localhost";
  readonly verify: TokenVerifier;
  readonly rooms: RoomsService;
  readonly presence: PresenceService;
  readonly allowAnonymousPresence: boolean;
  readonly logger: Logger;
  readonly workerId: string;
  /** Per-author message limits (src/ratelimit); none means unlimited. */
  readonly limits?: RoomsHandlerDeps["limits"];
  /** Counts events in and deliveries out (src/metrics); none means unmeasured. */
  readonly metrics?: RealtimeMetrics;
}

export async function createRealtime(server: http.Server, deps: RealtimeDeps) {
  const logger = deps.logger.child({ module: "realtime" });
  const metrics = deps.metrics;
  let hub: RoomHub | undefined;
  const ioServer = createIoServer(server, {
    redisUrl: deps.redisUrl,
    corsOrigins: deps.corsOrigins,
    verify: deps.verify,
    onRedisReconnect: () => hub?.resyncAll(),
  });
  const roomsNsp = ioServer.io.of(ROOMS_NAMESPACE);
  const wsRooms = new WsRooms();
  hub = new RoomHub({
    source: deps.rooms,
    adapters: [socketIoRooms(roomsNsp), wsRooms],
    toPeers: (event) => roomsNsp.serverSideEmit(PEER_EVENT, event),
    logger,
    onDeliver: metrics && ((protocol, event, n) => metrics.delivered(protocol, event, n)),
  });
  roomsNsp.on(PEER_EVENT, (event: RoomBroadcast) => hub.receive(event));
  // Every inbound event passes through `inFlight`, so a shutdown can finish them before closing.
  const inFlight = new InFlight();
  const roomsProtocol = createRoomsHandler({ rooms: deps.rooms, hub, logger, limits: deps.limits });
  const handleRoom: typeof roomsProtocol = (conn, name, payload, ack) => {
    metrics?.eventIn(name);
    return inFlight.run(conn, name, payload, ack, () => roomsProtocol(conn, name, payload, ack));
  };
  const presenceProtocol = createPresenceHandler({ presence: deps.presence, allowAnonymous: deps.allowAnonymousPresence, logger });
  const presence: typeof presenceProtocol = {
    ...presenceProtocol,
    onEvent: (conn, name, payload, ack) => {
      metrics?.eventIn(name);
      return inFlight.run(conn, name, payload, ack, () => presenceProtocol.onEvent(conn, name, payload, ack));
    },
  };

  const stopSlowReaderCheck = watchSlowReaders(ioServer.io, () => metrics?.dropped("socket.io", "slow_reader"));
  roomsNsp.use(ioServer.authenticate);
  bindRoomsNamespace(roomsNsp, hub, handleRoom, deps.workerId);
  const presenceNsp = ioServer.io.of(PRESENCE_NAMESPACE);
  presenceNsp.use(ioServer.authenticate);
  bindPresenceNamespace(presenceNsp, presence, deps.workerId);

  const ws = attachWsShim(server, { verify: deps.verify, hub, wsRooms, rooms: deps.rooms, handleRoom, presence, logger, workerId: deps.workerId, onDrop: metrics && ((reason) => metrics.dropped("ws", reason)) });

  // Committed room writes reach every subscriber through the hub.
  deps.rooms.setEventSink({
    message: (message) => {
      metrics?.messageIn();
      hub.publish({ event: "room.message", room_id: message.room_id, message });
    },
    joined: (roomId, userId) => hub.publish({ event: "room.join", room_id: roomId, user_id: userId }),
    left: (roomId, userId) => hub.publish({ event: "room.leave", room_id: roomId, user_id: userId }),
  });

  // Presence transitions are published once cluster-wide by the store's scripts; every worker
  // receives each one and sends it to its own clients only (never again through the adapter).
  const onTransition = (t: PresenceTransition) => {
    const update = { event: "presence.update" as const, user_id: t.userId, status: t.status, last_seen: t.lastSeen };
    presenceNsp.local.emit("presence.update", update);
    ws.toPresenceClients(update);
    for (const roomId of t.rooms) hub.receive({ event: "room.presence", room_id: roomId, user_id: t.userId, status: t.status });
  };
  const subscriber = createRedis(deps.redisUrl, "pubsub", "city-presence-sub");
  let transitions: TransitionSubscription | undefined;
  try {
    transitions = await subscribeTransitions(subscriber, onTransition, (err) => logger.warn({ err }, "bad presence transition"));
  } catch (err) {
    logger.error({ err }, "could not subscribe to presence transitions; they will be missed until restart");
  }

  return {
    io: ioServer.io,
    hub,
    /** Sends an event to one user's sockets on this worker, whatever the namespace or protocol. */
    pushToUserLocal(userId: string, ev: ServerEvent) {
      presenceNsp.local.to(userRoom(userId)).emit(ev.event, ev);
      roomsNsp.local.to(userRoom(userId)).emit(ev.event, ev);
      ws.toUser(userId, ev);
    },
    /** Connections and room subscriptions of this worker, for metrics. */
    stats(): RealtimeStats {
      const connections: RealtimeStats["connections"][number][] = [];
      for (const nsp of [roomsNsp, presenceNsp]) {
        const byTransport = new Map<string, number>([["polling", 0], ["websocket", 0]]);
        for (const socket of nsp.sockets.values()) {
          const t = socket.conn.transport.name;
          byTransport.set(t, (byTransport.get(t) ?? 0) + 1);
        }
        for (const [transport, count] of byTransport) connections.push({ protocol: "socket.io", namespace: nsp.name, transport, count });
      }
      connections.push({ protocol: "ws", namespace: ROOMS_NAMESPACE, transport: "websocket", count: ws.clientCount - ws.presenceCount });
      connections.push({ protocol: "ws", namespace: PRESENCE_NAMESPACE, transport: "websocket", count: ws.presenceCount });
      return { connections, roomSubscriptions: hub.subscriptions() };
    },
    /**
     * Graceful close (CONTRACT §1): new inbound events are refused, those in flight finish (until
     * `deadline`, epoch ms) so their acks go out, then every client is told to reconnect (raw ws:
     * close 1012; Socket.IO: the transport is closed, which clients answer by reconnecting).
     */
    async close(deadline = Date.now()) {
      inFlight.refuse();
      if (!(await inFlight.settled(deadline))) logger.warn({ pending: inFlight.size }, "socket events still in flight at the shutdown deadline");
      await transitions?.close().catch(() => {});
      await closeRedis(subscriber);
      await ws.close();
      stopSlowReaderCheck();
      await ioServer.close();
      hub.close();
    },
  };
}

export type Realtime = Awaited<ReturnType<typeof createRealtime>>;
