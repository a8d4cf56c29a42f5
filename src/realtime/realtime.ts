// Builds one worker's realtime side on its HTTP server: Socket.IO (namespaces /city/rooms and
// /city/presence) and the raw-ws shim, the two delivery adapters of the room hub, the hub fed by
// the room-event bus, presence transitions fanned out to this worker's clients, and pushes to one
// user's sockets.
import type http from "node:http";
import type { TokenVerifier } from "../auth/verify-token.js";
import type { Logger } from "../core/logger.js";
import { closeRedis, createRedis } from "../infra/redis/redis.js";
import type { RoomsService } from "../rooms/rooms-service.js";
import { subscribeTransitions, type PresenceService, type PresenceTransition, type TransitionSubscription } from "../presence/index.js";
import type { UserNotification } from "../secondme/user-notifier.js";
import { RoomHub } from "./hub/room-hub.js";
import { createRoomsHandler } from "./handlers/rooms-handler.js";
import { createPresenceHandler } from "./handlers/presence-handler.js";
import type { RoomEventBus } from "./bus/index.js";
import { createIoServer } from "./socketio/io-server.js";
import { watchSlowReaders } from "./socketio/slow-readers.js";
import { bindRoomsNamespace, ROOMS_NAMESPACE, type RoomEventHandler } from "./socketio/rooms-namespace.js";
import { bindPresenceNamespace, PRESENCE_NAMESPACE, type PresenceEvents } from "./socketio/presence-namespace.js";
import { socketIoRooms } from "./socketio/socketio-rooms.js";
import { emitEvent, userRoom } from "./socketio/city-socket.js";
import { attachWsShim } from "./ws/ws-shim.js";
import { WsRooms } from "./ws/ws-rooms.js";
import { SECONDME_OUTBOUND, type ServerEvent } from "./protocol/index.js";
import { InFlight } from "./in-flight.js";
import type { RealtimeMetrics, RealtimeStats } from "./realtime-metrics.js";

export interface RealtimeDeps {
  readonly redisUrl: string;
  readonly corsOrigins: readonly string[] | "localhost";
  readonly verify: TokenVerifier;
  readonly rooms: RoomsService;
  /** Committed room events of every process; the hub subscribes to it. */
  readonly bus: RoomEventBus;
  readonly presence: PresenceService;
  readonly allowAnonymousPresence: boolean;
  readonly logger: Logger;
  readonly workerId: string;
  /** Counts events in and deliveries out (src/metrics); none means unmeasured. */
  readonly metrics?: RealtimeMetrics;
}

export async function createRealtime(server: http.Server, deps: RealtimeDeps) {
  const logger = deps.logger.child({ module: "realtime" });
  const metrics = deps.metrics;
  const ioServer = createIoServer(server, { corsOrigins: deps.corsOrigins, verify: deps.verify });
  const roomsNsp = ioServer.io.of(ROOMS_NAMESPACE);
  const presenceNsp = ioServer.io.of(PRESENCE_NAMESPACE);
  const wsRooms = new WsRooms();
  const hub = new RoomHub({
    source: deps.rooms,
    adapters: [socketIoRooms(roomsNsp), wsRooms],
    logger,
    onDeliver: metrics && ((protocol, event, n) => metrics.delivered(protocol, event, n)),
  });
  const unsubscribe = deps.bus.subscribe({ onEvent: (ev) => hub.receive(ev), onResubscribed: () => hub.resyncAll() });

  // Every inbound event passes through `inFlight`, so a shutdown can finish them before closing.
  const inFlight = new InFlight();
  const rooms = createRoomsHandler({ rooms: deps.rooms, hub, logger });
  const handleRoom: RoomEventHandler = (conn, name, payload, ack) => {
    metrics?.eventIn(name);
    return inFlight.run(conn, name, payload, ack, () => rooms.handle(conn, name, payload, ack));
  };
  const presenceHandler = createPresenceHandler({ presence: deps.presence, allowAnonymous: deps.allowAnonymousPresence, logger });
  const presence: PresenceEvents = {
    onOpen: (conn) => presenceHandler.onOpen(conn),
    onClose: (conn) => presenceHandler.onClose(conn),
    handle: (conn, name, payload, ack) => {
      metrics?.eventIn(name);
      return inFlight.run(conn, name, payload, ack, () => presenceHandler.handle(conn, name, payload, ack));
    },
  };

  const stopSlowReaderCheck = watchSlowReaders(ioServer.io, () => metrics?.dropped("socket.io", "slow_reader"));
  roomsNsp.use(ioServer.authenticate);
  bindRoomsNamespace(roomsNsp, hub, handleRoom, deps.workerId);
  presenceNsp.use(ioServer.authenticate);
  bindPresenceNamespace(presenceNsp, presence, deps.workerId);

  const ws = attachWsShim(server, {
    verify: deps.verify,
    hub,
    wsRooms,
    rooms: deps.rooms,
    handleRoom,
    presence,
    logger,
    workerId: deps.workerId,
    onDrop: metrics && ((reason) => metrics.dropped("ws", reason)),
  });

  // Presence transitions are published once cluster-wide by the store's scripts; every worker
  // receives each one and sends it to its own clients only.
  const onTransition = (t: PresenceTransition) => {
    const update = { event: "presence.update" as const, user_id: t.userId, status: t.status, last_seen: t.lastSeen };
    emitEvent(presenceNsp.local, update);
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

  const pushToUser = (userId: string, ev: ServerEvent) => {
    emitEvent(presenceNsp.local.to(userRoom(userId)), ev);
    emitEvent(roomsNsp.local.to(userRoom(userId)), ev);
    ws.toUser(userId, ev);
  };
  const userEvent = (n: UserNotification) => {
    const parsed = SECONDME_OUTBOUND[n.event].safeParse({ ...n.payload, event: n.event });
    if (!parsed.success) return logger.warn({ event: n.event }, "ignored a malformed user notification");
    pushToUser(n.userId, parsed.data);
  };

  return {
    io: ioServer.io,
    hub,
    /** Sends a Second Me notification (from any process) to its user's sockets on this worker. */
    pushNotification: userEvent,
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
      unsubscribe();
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
