// `npm start`: everything one machine needs (CONTRACT §1). Loads config (a bad value stops with
// one line), prepares the database (embedded PostgreSQL in development), then runs the API
// cluster; SIGINT/SIGTERM stop all of it in order.
import path from "node:path";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { sibling } from "./config/package-root.js";
import { createLogger } from "./core/logger.js";
import { prepareDatabase } from "./boot.js";
import { startPrimary } from "./cluster/primary.js";
import { startJobsProcess } from "./jobs-process.js";
import { ensureRedis } from "./infra/redis/dev-redis.js";
import { serveClusterMetrics } from "./metrics/cluster-metrics.js";
import { announceDraining } from "./shutdown/drain-notice.js";
import { whereToConnect, withoutCredentials } from "./dev/where-to-connect.js";
import { devChoosesAgentsCore, resolveDevAgentsCore } from "./dev/dev-agents-core.js";

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel, { role: "primary" });
  if (config.jwt.isDevSecret) logger.warn("JWT_SECRET is not set: using the INSECURE development secret");
  const runJobs = process.env.CITY_JOBS !== "off";
  // Development with AGENTS_CORE_URL unset: an Agents Core already on 127.0.0.1:7002, else the
  // stand-in, which lives here as long as `npm start` (the job workers get its URL, and keep it
  // when they are restarted). Production and test use the default URL as it is.
  const devAgents = runJobs && devChoosesAgentsCore(config) ? await resolveDevAgentsCore(config.agents.url) : undefined;
  if (devAgents) logger.info({ url: devAgents.url, choice: devAgents.choice }, `Agents Core: ${devAgents.note}`);
  const redis = await ensureRedis(config.redisUrl, { production: config.env === "production", dataDir: config.dataDir });
  if (redis) logger.warn({ dir: config.dataDir }, "nothing answered at REDIS_URL: started a development redis-server");
  const database = await prepareDatabase(config, (line) => logger.warn(line));
  if (database.applied.length) logger.info({ migrations: database.applied }, "migrations applied");

  const primary = await startPrimary({
    port: config.port,
    host: config.host,
    workers: config.webConcurrency,
    workerScript: sibling(import.meta.dirname, "worker"),
    env: { DATABASE_URL: database.url },
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    log: (level, msg, extra) => logger[level](extra ?? {}, msg),
  });
  serveClusterMetrics(primary.isServing);
  logger.info({ port: primary.port, workers: config.webConcurrency }, `city backend listening on http://${config.host}:${primary.port}`);

  const jobsEnv: Record<string, string> = { DATABASE_URL: database.url, ...(devAgents ? { AGENTS_CORE_URL: devAgents.url } : {}) };
  const jobs = runJobs ? startJobsProcess(jobsEnv, (level, msg) => logger[level](msg)) : undefined;
  if (config.env !== "production") {
    const agents =
      config.agents.transport === "nats"
        ? `over NATS at ${config.agents.natsUrl}`
        : (devAgents?.note ??
          // CITY_JOBS=off: the job workers, run on their own, make the development choice themselves.
          (devChoosesAgentsCore(config) ? `${config.agents.url} unless the job workers start the stand-in (AGENTS_CORE_URL is unset)` : config.agents.url));
    const block = whereToConnect({
      host: config.host,
      port: primary.port,
      env: config.env,
      workers: config.webConcurrency,
      database: config.databaseUrl ? withoutCredentials(config.databaseUrl) : `embedded, data in ${path.resolve(config.dataDir, "postgres")}`,
      redis: `${withoutCredentials(config.redisUrl)}${redis ? ` (a development redis-server, data in ${path.resolve(config.dataDir, "redis")})` : ""}`,
      agents,
      jobs: Boolean(jobs),
    });
    process.stdout.write(`${block}\n`);
  }

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
    announceDraining();
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    await Promise.all([primary.close(), jobs?.stop()]);
    await devAgents?.close();
    await database.stop();
    await redis?.stop();
    logger.info({ ms: Date.now() - started }, "stopped");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`start-up failed: ${(err as Error).message}`);
  process.exit(1);
});
