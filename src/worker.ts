// Entry of one API cluster worker (forked by the primary in main.ts): builds the app and serves
// the connections the primary's front door hands over. The primary already prepared the
// database and passes DATABASE_URL.
import { loadConfig } from "./config/config.js";
import { createApp } from "./app.js";
import { serveFromPrimary } from "./cluster/worker.js";
import { onDrainingNotice } from "./shutdown/drain-notice.js";
import { answerPrimaryEarly } from "./metrics/cluster-metrics.js";

answerPrimaryEarly();
const config = loadConfig();
const app = await createApp(config, { workerId: process.env.CITY_WORKER_ID ?? String(process.pid) });
onDrainingNotice(() => app.markDraining());
serveFromPrimary(app.server, () => app.close(), app.io);
process.on("uncaughtException", (err) => {
  app.logger.fatal({ err }, "uncaught exception: the primary will replace this worker");
  process.exit(1);
});
