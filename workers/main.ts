// Entry of the job worker process (`node --import tsx workers/main.ts`): starts every worker in
// STARTERS from one Config and stops them all on SIGINT/SIGTERM. DATABASE_URL must be set (npm
// start passes the one it prepared). Agents Core is AGENTS_CORE_URL, else http://127.0.0.1:7002
// (CONTRACT §2). `npm start` in development resolves the Agents Core itself and passes its URL;
// run on their own in development with AGENTS_CORE_URL unset, the job workers resolve it here the
// same way (src/dev/dev-agents-core.ts: what answers at 7002, else the stand-in).
import { ConfigError, loadConfig, withAgentsUrl, type Config } from "../src/config/config.js";
import { createLogger, type Logger } from "../src/core/logger.js";
import { createOutageLog, type OutageLog } from "../src/infra/outage-log.js";
import { devChoosesAgentsCore, resolveDevAgentsCore } from "../src/dev/dev-agents-core.js";
import { startSecondMeWorker } from "./secondme-worker.js";
import { startPresenceSweepWorker } from "./presence-sweep-worker.js";
import { startAgentsReplyWorker } from "./agents-reply-worker.js";

type Starter = (config: Config, deps: { logger: Logger; redisOutage: OutageLog }) => Promise<{ close(): Promise<void> }>;

/** One entry per kind of job; each returns something to close. */
const STARTERS: readonly [name: string, start: Starter][] = [
  ["secondme", startSecondMeWorker],
  ["agents-reply", startAgentsReplyWorker],
  ["presence-sweep", (config, { logger, redisOutage }) => startPresenceSweepWorker(config, { outage: redisOutage, onError: (err) => logger.warn({ err }, "presence sweep failed") })],
];

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  if (!config.databaseUrl) {
    console.error("config: DATABASE_URL is required by the job workers");
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { role: "workers" });
  const closers: { close(): Promise<void> }[] = [];
  // One line when Redis goes away and one when it is back, for the whole process.
  const redisOutage = createOutageLog(logger, "redis");

  if (devChoosesAgentsCore(config)) {
    const agents = await resolveDevAgentsCore(config.agents.url);
    closers.push(agents);
    config = withAgentsUrl(config, agents.url);
    logger.info({ url: agents.url, choice: agents.choice }, `Agents Core: ${agents.note}`);
  }
  for (const [name, start] of STARTERS) {
    closers.unshift(await start(config, { logger, redisOutage }));
    logger.info({ worker: name }, "worker started");
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping workers");
    // A watchdog: a worker that cannot drain must not keep the process forever.
    setTimeout(() => process.exit(1), 30_000).unref();
    for (const c of closers) await c.close().catch((err: unknown) => logger.error({ err }, "close failed"));
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  // One line, as for a bad config value: what failed, never a stack.
  console.error(`job workers: start-up failed: ${String((err as Error)?.message ?? err).replace(/[\r\n]+/g, " ")}`);
  process.exit(1);
});
