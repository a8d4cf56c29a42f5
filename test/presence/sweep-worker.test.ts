// The sweep as a BullMQ job scheduler: it runs by itself, and with two sweep processes each
// expiry is still reported exactly once. A private BullMQ prefix (BULLMQ_PREFIX, as operators set
// it) keeps this off any real queue.
import { expect } from "chai";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { loadConfig } from "../../src/config/config.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { PRESENCE_SWEEP_QUEUE, createPresenceService } from "../../src/presence/index.js";
import { startPresenceSweepWorker, type PresenceSweepWorker } from "../../workers/presence-sweep-worker.js";
import { REDIS_URL, eventually, ids, listenTransitions, sleep } from "./support.js";

describe("presence sweep worker (BullMQ job scheduler)", function () {
  this.timeout(30_000);
  const prefix = `city:bull:test:${Math.random().toString(36).slice(2, 10)}`;
  const config = loadConfig({ NODE_ENV: "test", REDIS_URL, PRESENCE_TTL_SECONDS: "1", PRESENCE_SWEEP_INTERVAL_MS: "300", BULLMQ_PREFIX: prefix });
  let redis: Redis;
  let workers: PresenceSweepWorker[] = [];

  before(() => {
    redis = createRedis(REDIS_URL, "commands", "city-presence-test");
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.close()));
    const conn = createRedis(REDIS_URL, "bullmq", "city-presence-test");
    const queue = new Queue(PRESENCE_SWEEP_QUEUE, { connection: conn, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
    await closeRedis(conn);
    await closeRedis(redis);
  });

  it("sweeps on its own, and two workers report each expiry once", async () => {
    const id = ids(redis);
    const events = await listenTransitions();
    try {
      const sweeps: number[] = [];
      const onSweep = ({ at }: { at: number }) => sweeps.push(at);
      workers = await Promise.all([1, 2].map(() => startPresenceSweepWorker(config, { onSweep })));
      const presence = createPresenceService({ redis, config: config.presence });
      const users = Array.from({ length: 50 }, (_, i) => id.user(i));
      const started = Date.now();
      await Promise.all(users.map((u) => presence.heartbeat(u)));
      // Bound: TTL + one sweep interval (+ slack for the job hand-off).
      await eventually(() => users.every((u) => events.of(u, "offline").length > 0), 1000 + 300 + 1500);
      const took = Date.now() - started;
      await sleep(800); // several more sweeps run; none may repeat a transition
      for (const u of users) expect(events.of(u, "offline"), u).to.have.length(1);
      expect(took).to.be.at.least(1000);
      // Exactly one sweep per interval across both processes: ~window/300 ms, not twice that.
      const window = sweeps[sweeps.length - 1]! - sweeps[0]!;
      expect(sweeps.length).to.be.within(Math.floor(window / 300), Math.ceil(window / 300) + 1);
      const gaps = sweeps.slice(1).map((t, i) => t - sweeps[i]!);
      expect(Math.min(...gaps), `gaps ${gaps.join(",")}`).to.be.above(150);
      await presence.close();

      // Exactly one sweep job per interval, although two processes upserted the scheduler.
      const conn = createRedis(REDIS_URL, "bullmq", "city-presence-test");
      const queue = new Queue(PRESENCE_SWEEP_QUEUE, { connection: conn, prefix });
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.every)).to.deep.equal([300]);
      await queue.close();
      await closeRedis(conn);
    } finally {
      await events.close();
      await id.cleanup();
    }
  });
});
