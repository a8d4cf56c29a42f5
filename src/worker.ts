// Entry of one API cluster worker (forked by the primary in main.ts): builds the app and serves
// the connections the primary's front door hands over. The primary already prepared the
// database and passes DATABASE_URL.
import { loadConfig } from "./config/config.js";
import { createApp } from "./app.js";
import { serveFromPrimary } from "./cluster/worker.js";
import { onDrainingNotice } from "./shutdown/drain-notice.js";

const config = loadConfig();
const slot = process.env.CITY_WORKER_ID;
// agents.reply is posted by one worker of the cluster, the one in slot 1 (a replacement of a dead
// one takes the same slot): NATS hands a queue group's messages to its members at random, so with
// every worker subscribed two replies published back to back into one room could be stored in the
// opposite order (src/infra/agents-core/agents-reply-subscriber.ts has the whole reasoning).
const app = await createApp(config, { workerId: slot ?? String(process.pid), agentReplies: slot === undefined || slot === "1" });
onDrainingNotice(() => app.markDraining());
serveFromPrimary(app.server, () => app.close(), app.io);
process.on("uncaughtException", (err) => {
  app.logger.fatal({ err }, "uncaught exception: the primary will replace this worker");
  process.exit(1);
});
