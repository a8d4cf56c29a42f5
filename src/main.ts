// `npm start`: everything one machine needs. Loads config (a bad value stops with one line),
// prepares the database (embedded in development), then serves.
import { ConfigError, loadConfig } from "./config/config.js";
import { createLogger } from "./core/logger.js";
import { prepareDatabase } from "./boot.js";
import { createApp } from "./app.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { role: "primary" });
  if (config.jwt.isDevSecret) logger.warn("JWT_SECRET is not set: using the INSECURE development secret");
  const database = await prepareDatabase(config, (line) => logger.warn(line));
  const app = await createApp({ ...config, databaseUrl: database.url }, { workerId: "1", logger });
  await new Promise<void>((resolve) => app.server.listen(config.port, config.host, resolve));
  logger.info({ port: config.port, host: config.host }, `city backend listening on http://${config.host}:${config.port}`);
  const stop = async () => {
    await app.close();
    await database.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err) => {
  console.error(`start-up failed: ${(err as Error).message}`);
  process.exit(1);
});
