// Builds one worker's realtime side on its HTTP server: Socket.IO (namespaces /city/rooms and
// /city/presence over the Redis adapter), the raw-ws shim, and the room hub they share.
import type http from "node:http";
import type { TokenVerifier } from "../auth/verify-token.js";
import type { Logger } from "../core/logger.js";
import type { RoomsService } from "../rooms/rooms-service.js";
import { RoomHub } from "./room-hub.js";
import { createRoomsHandler } from "./rooms-handler.js";
import { createIoServer } from "./socketio/io-server.js";
import { bindRoomsNamespace, ROOMS_NAMESPACE } from "./socketio/rooms-namespace.js";
import { attachWsShim } from "./ws/ws-shim.js";
import type { PresenceProtocol } from "./connection-types.js";

export const PRESENCE_NAMESPACE = "/city/presence";

export interface RealtimeDeps {
  readonly redisUrl: string;
  readonly corsOrigins: readonly string[] | "localhost";
  readonly verify: TokenVerifier;
  readonly rooms: RoomsService;
  readonly logger: Logger;
  readonly workerId: string;
}

export function createRealtime(server: http.Server, deps: RealtimeDeps) {
  const logger = deps.logger.child({ module: "realtime" });
  const hub = new RoomHub(deps.rooms, logger);
  const ioServer = createIoServer(server, {
    redisUrl: deps.redisUrl,
    corsOrigins: deps.corsOrigins,
    verify: deps.verify,
    onRedisReconnect: () => hub.resyncAll(),
  });
  const handleRoom = createRoomsHandler({ rooms: deps.rooms, hub, logger });
  const roomsNsp = ioServer.io.of(ROOMS_NAMESPACE);
  roomsNsp.use(ioServer.authenticate);
  bindRoomsNamespace(roomsNsp, hub, handleRoom, deps.workerId);
  const presenceNsp = ioServer.io.of(PRESENCE_NAMESPACE);
  presenceNsp.use(ioServer.authenticate);

  // Committed room writes reach every subscriber through the hub.
  deps.rooms.setEventSink({
    message: (message) => hub.publish({ event: "room.message", room_id: message.room_id, message }),
    joined: (roomId, userId) => hub.publish({ event: "room.join", room_id: roomId, user_id: userId }),
    left: (roomId, userId) => hub.publish({ event: "room.leave", room_id: roomId, user_id: userId }),
  });

  let presence: PresenceProtocol | undefined;
  const ws = attachWsShim(server, {
    verify: deps.verify,
    hub,
    rooms: deps.rooms,
    handleRoom,
    get presence() {
      return presence;
    },
    logger,
    workerId: deps.workerId,
  });

  return {
    io: ioServer.io,
    hub,
    presenceNamespace: presenceNsp,
    /** The presence capability plugs its protocol in here (both transports). */
    setPresence(p: PresenceProtocol) {
      presence = p;
    },
    async close() {
      await ws.close();
      await ioServer.close();
      hub.close();
    },
  };
}

export type Realtime = ReturnType<typeof createRealtime>;
