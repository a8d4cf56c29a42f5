// `npm start`: everything one machine needs (CONTRACT §1). Loads config (a bad value stops with
// one line), prepares the database (embedded PostgreSQL in development), then runs the API
// cluster; SIGINT/SIGTERM stop all of it in order.
import path from "node:path";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { createLogger } from "./core/logger.js";
import { prepareDatabase } from "./boot.js";
import { startPrimary } from "./cluster/primary.js";
import { startJobsProcess } from "./jobs-process.js";
import { ensureRedis } from "./infra/redis/dev-redis.js";

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
  const redis = await ensureRedis(config.redisUrl, { production: config.env === "production", dataDir: config.dataDir });
  if (redis) logger.warn({ dir: config.dataDir }, "nothing answered at REDIS_URL: started a development redis-server");
  const database = await prepareDatabase(config, (line) => logger.warn(line));
  if (database.applied.length) logger.info({ migrations: database.applied }, "migrations applied");

  const primary = await startPrimary({
    port: config.port,
    host: config.host,
    workers: config.webConcurrency,
    workerScript: path.resolve(import.meta.dirname, "worker.ts"),
    env: { DATABASE_URL: database.url },
    log: (level, msg, extra) => logger[level](extra ?? {}, msg),
  });
  logger.info({ port: primary.port, workers: config.webConcurrency }, `city backend listening on http://${config.host}:${primary.port}`);

  const jobs = process.env.CITY_JOBS === "off" ? undefined : startJobsProcess({ DATABASE_URL: database.url }, (level, msg) => logger[level](msg));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await Promise.all([primary.close(), jobs?.stop()]);
    await database.stop();
    await redis?.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  console.error(`start-up failed: ${(err as Error).message}`);
  process.exit(1);
});
