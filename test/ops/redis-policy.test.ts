// BullMQ needs a Redis that never evicts keys (issue 12): the server says so once at start-up in
// production when its Redis would evict (any maxmemory-policy but noeviction), on a private
// redis-server whose policy the test sets, never the machine's.
import { expect } from "chai";
import { Redis } from "ioredis";
import { evictionPolicy } from "../../src/infra/redis/eviction-policy.js";
import { until } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";
import { privateRedis, type PrivateService } from "../faults/support.js";

describe("ops: a Redis that would evict keys", function () {
  this.timeout(120_000);
  let redis: PrivateService;
  let server: TestServer | undefined;

  before(async () => {
    redis = await privateRedis();
    const admin = new Redis(redis.url);
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    admin.disconnect();
  });
  after(async () => {
    await server?.stop();
    await redis.stop();
  });

  it("reads the policy from INFO memory", () => {
    expect(evictionPolicy("# Memory\r\nused_memory:1\r\nmaxmemory_policy:volatile-lru\r\n")).to.equal("volatile-lru");
    expect(evictionPolicy("# Memory\r\nused_memory:1\r\n")).to.equal(undefined);
  });

  it("is warned about once at start-up in production, naming the policy", async () => {
    server = await startServer({ NODE_ENV: "production", REDIS_URL: redis.url, CITY_JOBS: "off", LOG_LEVEL: "warn" });
    const warning = "maxmemory-policy is allkeys-lru";
    await until(() => (server!.output().includes(warning) ? true : undefined), 30_000, "the eviction warning");
    expect(server.output().split(warning), server.output()).to.have.length(2);
    expect(server.output()).to.match(/"policy":"allkeys-lru"/);
  });
});
