// `npm start` (scripts/start.mjs runs the build of this file): everything one machine needs
// (CONTRACT §1). Loads config (a bad value stops with one line), and in development brings up what
// is missing (embedded PostgreSQL, a redis-server, the stand-in Agents Core: modules loaded only
// then); migrates in a child process while the workers load; runs the API cluster and the job
// process; SIGINT/SIGTERM stop all of it in order. This process stays a router: it never loads the
// app (Koa, Prisma, BullMQ, Socket.IO), see src/cluster/primary.ts.
import path from "node:path";
import { loadConfigOrExit, type Config } from "./config/config.js";
import { sibling } from "./config/package-root.js";
import { createLogger, type Logger } from "./core/logger.js";
import { startPrimary } from "./cluster/primary.js";
import { startJobsProcess } from "./jobs-process.js";
import { prepareDatabaseInChild } from "./infra/db/prepare-in-child.js";

/** What development brought up for this run; each is stopped with the server. */
interface DevServices {
  readonly agents?: { url: string; note: string; close(): Promise<void> };
  readonly redisNote?: string;
  stopRedis?(): Promise<void>;
  readonly databaseUrl?: string;
  stopDatabase?(): Promise<void>;
}

async function startDevServices(config: Config, logger: Logger, runJobs: boolean): Promise<DevServices> {
  const { devChoosesAgentsCore, resolveDevAgentsCore } = await import("./dev/dev-agents-core.js");
  // AGENTS_CORE_URL unset: an Agents Core already on 127.0.0.1:7002, else the stand-in, which lives
  // here as long as `npm start` (the job workers get its URL, and keep it when restarted).
  const agents = runJobs && devChoosesAgentsCore(config) ? await resolveDevAgentsCore(config.agents.url) : undefined;
  if (agents) logger.info({ url: agents.url, choice: agents.choice }, `Agents Core: ${agents.note}`);
  const { ensureRedis } = await import("./infra/redis/dev-redis.js");
  const redis = await ensureRedis(config.redisUrl, { production: false, dataDir: config.dataDir });
  if (redis) logger.warn({ dir: config.dataDir }, "nothing answered at REDIS_URL: started a development redis-server");
  const embedded = config.databaseUrl
    ? undefined
    : await (await import("./infra/db/embedded-postgres.js")).startEmbeddedPostgres(config.dataDir, (line) => logger.warn(line));
  return {
    agents,
    redisNote: redis ? ` (a development redis-server, data in ${path.resolve(config.dataDir, "redis")})` : "",
    stopRedis: redis && (() => redis.stop()),
    databaseUrl: embedded?.url,
    stopDatabase: embedded && (() => embedded.stop()),
  };
}

async function printWhereToConnect(config: Config, port: number, dev: DevServices, jobs: boolean): Promise<void> {
  const { whereToConnect, withoutCredentials } = await import("./dev/where-to-connect.js");
  const { devChoosesAgentsCore } = await import("./dev/dev-agents-core.js");
  const agents =
    config.agents.transport === "nats"
      ? `over NATS at ${config.agents.natsUrl}`
      : (dev.agents?.note ??
        // CITY_JOBS=off: the job workers, run on their own, make the development choice themselves.
        (devChoosesAgentsCore(config) ? `${config.agents.url} unless the job workers start the stand-in (AGENTS_CORE_URL is unset)` : config.agents.url));
  const block = whereToConnect({
    host: config.host,
    port,
    env: config.env,
    workers: config.webConcurrency,
    database: config.databaseUrl ? withoutCredentials(config.databaseUrl) : `embedded, data in ${path.resolve(config.dataDir, "postgres")}`,
    redis: `${withoutCredentials(config.redisUrl)}${dev.redisNote ?? ""}`,
    agents,
    jobs,
  });
  process.stdout.write(`${block}\n`);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { role: "primary" });
  for (const warning of config.warnings) logger.warn(warning);
  if (config.jwt.isDevSecret) logger.warn("JWT_SECRET is not set: using the INSECURE development secret");
  const runJobs = config.jobs;
  // Production (and test) never start local stand-ins: what is configured is what is used.
  const dev: DevServices = config.env === "production" ? {} : await startDevServices(config, logger, runJobs);
  const databaseUrl = config.databaseUrl ?? dev.databaseUrl!;

  // Migrations and default rooms while the workers load their code; a worker builds its app only
  // after them.
  const migrated = prepareDatabaseInChild(databaseUrl);
  migrated.then(
    (applied) => applied.length && logger.info({ migrations: applied }, "migrations applied"),
    () => {},
  );
  const [primary] = await Promise.all([
    startPrimary({
      port: config.port,
      host: config.host,
      workers: config.webConcurrency,
      workerScript: sibling(import.meta.dirname, "worker"),
      env: { DATABASE_URL: databaseUrl },
      database: migrated,
      shutdownTimeoutMs: config.shutdown.timeoutMs,
      log: (level, msg, extra) => logger[level](extra ?? {}, msg),
    }),
    migrated,
  ]);
  logger.info({ port: primary.port, workers: config.webConcurrency }, `city backend listening on http://${config.host}:${primary.port}`);

  const jobsEnv: Record<string, string> = { DATABASE_URL: databaseUrl, ...(dev.agents ? { AGENTS_CORE_URL: dev.agents.url } : {}) };
  const jobs = runJobs ? startJobsProcess(jobsEnv, (level, msg) => logger[level](msg)) : undefined;
  if (config.env !== "production") await printWhereToConnect(config, primary.port, dev, Boolean(jobs));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const { timeoutMs, delayMs } = config.shutdown;
    logger.info({ signal, delayMs, timeoutMs }, "shutting down");
    // The watchdog: a stop that hangs past every deadline below must still end the process.
    setTimeout(() => {
      logger.error("graceful stop did not finish in time; exiting");
      process.exit(1);
    }, delayMs + Math.max(timeoutMs, 30_000) + 15_000).unref();
    // Readiness goes false at once; with SHUTDOWN_DELAY_MS, new connections are still accepted
    // meanwhile so load balancers that probe /readyz move traffic away first.
    primary.announceDraining();
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    await Promise.all([primary.close(), jobs?.stop()]);
    await dev.agents?.close();
    await dev.stopDatabase?.();
    await dev.stopRedis?.();
    logger.info({ ms: Date.now() - started }, "stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`start-up failed: ${String((err as Error)?.message ?? err).replace(/[\r\n]+/g, " ")}`);
  process.exit(1);
});
