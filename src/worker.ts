// Entry of one API cluster worker (forked by the primary in main.ts): builds the app and serves
// the connections the primary's front door hands over. The primary already prepared the
// database and passes DATABASE_URL.
import { loadConfig } from "./config/config.js";
import { createApp } from "./app.js";
import { serveFromPrimary } from "./cluster/worker.js";
import { onDrainingNotice } from "./shutdown/drain-notice.js";

const config = loadConfig();
const slot = process.env.CITY_WORKER_ID;
// agents.reply is consumed by one worker of the cluster, the one in slot 1: one is enough, since
// the JetStream consumer keeps what is published while that worker is replaced, and it would keep
// one order with more of them too (src/infra/agents-core/agents-reply-consumer.ts).
const app = await createApp(config, { workerId: slot ?? String(process.pid), agentReplies: slot === undefined || slot === "1" });
onDrainingNotice(() => app.markDraining());
serveFromPrimary(app.server, () => app.close(), app.io);
process.on("uncaughtException", (err) => {
  app.logger.fatal({ err }, "uncaught exception: the primary will replace this worker");
  process.exit(1);
});
