// Entry of one API cluster worker (forked by the primary in main.ts): loads and builds the app
// while the primary prepares the database (migrations, default rooms), waits for that (building
// the app sends no SQL), then serves the connections the primary's front door hands over.
import { loadConfigOrExit } from "./config/config.js";
import { createApp } from "./app.js";
import { awaitDatabase, serveFromPrimary } from "./cluster/worker.js";
import { warnIfRedisEvicts } from "./infra/redis/eviction-policy.js";

const config = loadConfigOrExit();
const slot = process.env.CITY_WORKER_ID;
const first = slot === undefined || slot === "1";
const app = await createApp(config, { workerId: slot ?? String(process.pid) });
await awaitDatabase();
serveFromPrimary(app.server, () => app.close(), app.io, () => app.markDraining());
process.on("uncaughtException", (err) => {
  app.logger.fatal({ err }, "uncaught exception: the primary will replace this worker");
  process.exit(1);
});
// Once per cluster (slot 1), in production: BullMQ's queues must not be evicted.
if (first && config.env === "production") void warnIfRedisEvicts(config.redisUrl, app.logger);
