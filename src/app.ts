// Composition root of one API worker: the only place that opens connections and wires services.
// Nothing connects at import time; tests build their own app from their own Config.
import http from "node:http";
import type { Config } from "./config/config.js";
import { createLogger, type Logger } from "./core/logger.js";
import { isUnavailable } from "./core/errors.js";
import { createTokenVerifier } from "./auth/verify-token.js";
import { createDatabase } from "./infra/db/database.js";
import { closeRedis, createRedis } from "./infra/redis/redis.js";
import { createOutageLog } from "./infra/outage-log.js";
import { createRoomsRepo } from "./rooms/rooms-repo.js";
import { createRoomsService } from "./rooms/rooms-service.js";
import { createFeedService } from "./feed/feed-service.js";
import { createHttpApp } from "./http/app.js";
import { createHealthRouter } from "./http/routes/health-routes.js";
import { createRoomsRouter } from "./http/routes/rooms-routes.js";
import { createFeedRouter } from "./http/routes/feed-routes.js";
import { createRealtime } from "./realtime/realtime.js";
import { createRoomEventBus } from "./realtime/bus/index.js";
import { createQueues } from "./infra/queue/queues.js";
import { createReplyWaiter } from "./infra/queue/reply-channel.js";
import { createUserLanes } from "./infra/queue/user-lanes.js";
import { createSecondMeRepo } from "./secondme/secondme-repo.js";
import { createSecondMeService } from "./secondme/secondme-service.js";
import { createSecondMeInvoker } from "./secondme/secondme-invoker.js";
import { createRedisUserNotifier, followUserNotifications } from "./secondme/user-notifier.js";
import { createPresenceService } from "./presence/index.js";
import { createPresenceRouter } from "./http/routes/presence-routes.js";
import { createSecondMeRouter } from "./http/routes/secondme-routes.js";
import { createQueuesBoard } from "./http/admin/queues-board.js";
import { createDocsRouter } from "./docs/docs-routes.js";
import { createConsoleRouter } from "./console/console-routes.js";
import { rateLimitsFromConfig } from "./ratelimit/index.js";
import { createWorkerMetrics } from "./metrics/worker-metrics.js";
import { createSharedMetrics } from "./metrics/shared-metrics.js";
import { clusterScraper } from "./metrics/cluster-metrics.js";
import { createMetricsRouter } from "./metrics/metrics-router.js";
import { requestLog } from "./http/request-log.js";
import { trackHttpRequests } from "./shutdown/http-drain.js";

export interface App {
  readonly server: http.Server;
  readonly io: import("socket.io").Server;
  readonly logger: Logger;
  /** Readiness answers 503 `draining` from now on; everything else is still served. */
  markDraining(): void;
  /** Ordered shutdown: refuse new work, drain, close connections. */
  close(): Promise<void>;
}

export interface AppOptions {
  readonly workerId?: string;
  readonly logger?: Logger;
}

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  if (!config.databaseUrl) throw new Error("createApp needs config.databaseUrl (the primary resolves it)");
  const logger = opts.logger ?? createLogger(config.logLevel, { worker: opts.workerId });
  const db = createDatabase(config.databaseUrl, { applicationName: `city-api-${opts.workerId ?? "0"}` });
  // One line when Redis goes away and one when it is back, for this whole process.
  const redisOutage = createOutageLog(logger, "redis");
  const redis = createRedis(config.redisUrl, "commands", "city", { outage: redisOutage });
  const verify = createTokenVerifier(config.jwt);
  const metrics = createWorkerMetrics();

  const presence = createPresenceService({
    redis,
    config: config.presence,
    onError: (err) => (isUnavailable(err) ? redisOutage.failed("presence", err) : logger.warn({ err }, "presence store")),
  });
  const feed = createFeedService(db);
  // Second Me: turns run as `secondme` jobs in workers/; outcomes come back on this process's
  // reply channel (one subscriber per process, never one per request). The queue's connection
  // fails fast, so an invoke answers 503 at once while Redis is away.
  const producer = createRedis(config.redisUrl, "producer", "city-api-queue", { outage: redisOutage });
  const replySub = createRedis(config.redisUrl, "pubsub", "city-api-replies", { outage: redisOutage });
  const queues = createQueues({ connection: producer, prefix: config.queue.prefix, secondme: config.secondme });
  const waiter = await createReplyWaiter({ redis, subscriber: replySub });
  const secondme = createSecondMeService({ repo: createSecondMeRepo(db), agentId: config.secondme.agentId });
  const invoker = createSecondMeInvoker({
    queue: queues.secondme,
    producer,
    lanes: createUserLanes(producer),
    waiter,
    notifier: createRedisUserNotifier(producer),
    timeoutMs: config.secondme.timeoutMs,
    maxQueuedPerUser: config.secondme.maxQueuedPerUser,
    logger,
  });

  // Rate limits live in Redis so they hold across workers; they fail open when Redis is away.
  const limits = rateLimitsFromConfig(config, redis, redisOutage);
  // Committed room events reach this worker's sockets at once and every other process's through
  // Redis (src/realtime/bus/); the rooms service publishes on it, the realtime hub subscribes.
  const busSub = createRedis(config.redisUrl, "pubsub", "city-room-events", { outage: redisOutage });
  const roomEvents = createRoomEventBus({ publisher: redis, subscriber: busSub, logger });
  const rooms = createRoomsService({
    repo: createRoomsRepo(db),
    online: presence,
    events: {
      message(m) {
        metrics.realtime.messageIn();
        roomEvents.message(m);
      },
      joined: roomEvents.joined,
      left: roomEvents.left,
    },
    admission: limits?.messages,
  });

  let draining = false;
  const probes = [
    { name: "postgres", check: () => db.ping() },
    { name: "redis", check: () => redis.ping() },
  ];
  const koa = createHttpApp({
    logger,
    first: [requestLog({ logger, observe: metrics.observeHttp })],
    verify,
    corsOrigins: config.corsOrigins,
    workerId: opts.workerId,
    publicRouters: [
      createHealthRouter(probes, () => draining),
      createMetricsRouter({
        workers: clusterScraper(metrics.registry),
        shared: createSharedMetrics({ redis, queues: queues.all, bullPrefix: config.queue.prefix }),
        logger,
      }),
      createDocsRouter(),
      createConsoleRouter({ config, logger }),
    ],
    extra: [createQueuesBoard({ queues: queues.all, verify, adminToken: config.adminToken })],
    afterAuth: limits ? [limits.rest] : [],
    routers: [createRoomsRouter(rooms), createFeedRouter(feed), createPresenceRouter(presence), createSecondMeRouter({ service: secondme, invoker })],
  });
  const server = http.createServer(koa.callback());
  const requests = trackHttpRequests(server);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const realtime = await createRealtime(server, {
    redisUrl: config.redisUrl,
    corsOrigins: config.corsOrigins,
    verify,
    rooms,
    bus: roomEvents,
    presence,
    allowAnonymousPresence: config.presence.allowAnonymous,
    logger,
    workerId: opts.workerId ?? String(process.pid),
    metrics: metrics.realtime,
  });
  await roomEvents.start();
  metrics.setSources({ realtime: () => realtime.stats(), heartbeats: () => presence.stats().heartbeats });
  // Second Me progress and late replies reach the user's sockets held by this worker. Read from a
  // stream on a blocking connection of its own, so nothing added while it reconnects is missed.
  const notifications = followUserNotifications(createRedis(config.redisUrl, "bullmq", "city-api-notify", { outage: redisOutage }), (n) =>
    realtime.pushNotification(n),
  );
  await notifications.ready;

  return {
    server,
    io: realtime.io,
    logger,
    markDraining() {
      draining = true;
    },
    async close() {
      draining = true;
      // The worker forces what is left a little before the primary would kill it.
      const timeoutMs = config.shutdown.timeoutMs;
      const deadline = Date.now() + Math.max(timeoutMs / 2, timeoutMs - 3_000);
      logger.info({ requests: requests.active }, "draining");
      // In-flight requests finish (answered with Connection: close) while the sockets drain.
      const requestsDone = requests.drain(deadline);
      await notifications.close();
      await realtime.close(deadline);
      await roomEvents.close();
      await presence.close();
      if ((await requestsDone).forced) logger.warn("HTTP requests still in flight at the shutdown deadline were cut off");
      await waiter.close();
      await queues.close();
      await Promise.all([db.close(), closeRedis(redis), closeRedis(producer), closeRedis(replySub), closeRedis(busSub)]);
      logger.info("worker stopped");
    },
  };
}
