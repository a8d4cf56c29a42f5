// Agents' own room replies (CONTRACT §8, §9) in the job process: the deployment's durable JetStream
// consumer of `agents.reply` (src/infra/agents-core/agents-reply-consumer.ts) posts each reply
// through the rooms service, which stores it (author_agent_id, an agent_reply feed event) and
// publishes it on the room-event bus, so it reaches every socket on every API worker and machine
// like any message. No API worker is pinned to this: the job process has no clients, so its bus
// only publishes. Several job processes (machines) may run it; the consumer keeps one order.
import type { Config } from "../src/config/config.js";
import type { Logger } from "../src/core/logger.js";
import { startAgentRepliesConsumer } from "../src/infra/agents-core/agents-reply-consumer.js";
import { createDatabase } from "../src/infra/db/database.js";
import type { OutageLog } from "../src/infra/outage-log.js";
import { closeRedis, createRedis } from "../src/infra/redis/redis.js";
import { rateLimitsFromConfig } from "../src/ratelimit/index.js";
import { createRoomEventBus } from "../src/realtime/bus/index.js";
import { createAgentReplyPoster } from "../src/rooms/agent-replies.js";
import { createRoomsRepo } from "../src/rooms/rooms-repo.js";
import { createRoomsService } from "../src/rooms/rooms-service.js";

export async function startAgentsReplyWorker(config: Config, deps: { logger: Logger; redisOutage: OutageLog }): Promise<{ close(): Promise<void> }> {
  if (!config.databaseUrl) throw new Error("the agents.reply worker needs DATABASE_URL");
  const logger = deps.logger.child({ module: "agents-reply" });
  // One reply is posted at a time (the consumer's order), so one connection is enough.
  const db = createDatabase(config.databaseUrl, { poolSize: 2, applicationName: "city-agents-reply" });
  const redis = createRedis(config.redisUrl, "commands", "city-agents-reply", { outage: deps.redisOutage });
  const events = createRoomEventBus({ publisher: redis, logger });
  // Agents meet the per-author limits of every post; a reply refused for now is retried in order.
  const rooms = createRoomsService({ repo: createRoomsRepo(db), events, admission: rateLimitsFromConfig(config, redis, deps.redisOutage)?.messages });
  // In the background: a missing NATS neither delays nor stops the other workers; it keeps trying.
  const consumer = startAgentRepliesConsumer({
    natsUrl: config.agents.natsUrl,
    durable: config.agents.replyQueueGroup,
    post: createAgentReplyPoster(rooms, logger),
    logger,
  });
  return {
    async close() {
      await consumer.close();
      await events.close();
      await db.close();
      await closeRedis(redis);
    },
  };
}
