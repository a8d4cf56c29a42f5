// A Redis outage in the logs (issue 12): one line when it begins and one when it ends per process,
// however many connections see it and however often they retry. Real connections of every role to
// a private redis-server that is killed and restarted; the process-level log it feeds is the one
// app.ts and the job process build.
import { expect } from "chai";
import { pino } from "pino";
import { createOutageLog } from "../../src/infra/outage-log.js";
import { closeRedis, createRedis, type Redis } from "../../src/infra/redis/redis.js";
import { privateRedis, sleep, type PrivateService } from "./support.js";
import { until } from "../support/clients.js";

const REDIS_PORT = 6442;

describe("faults: a Redis outage is two log lines per process", function () {
  this.timeout(30_000);
  let redis: PrivateService;
  const conns: Redis[] = [];
  const lines: { level: number; msg: string; source?: string; failures?: number }[] = [];
  const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const outage = createOutageLog(logger, "redis");
  const said = (re: RegExp) => lines.filter((l) => re.test(l.msg)).length;

  before(async () => {
    redis = await privateRedis({ port: REDIS_PORT });
    for (const role of ["commands", "pubsub", "bullmq", "producer"] as const) conns.push(createRedis(redis.url, role, `city-test-${role}`, { outage }));
    await until(() => (conns.every((c) => c.status === "ready") ? true : undefined), 10_000, "every connection ready");
  });
  after(async () => {
    await Promise.all(conns.map((c) => closeRedis(c)));
    await redis?.destroy();
  });

  it("logs the start once while four connections retry, and the end once when all are back", async () => {
    await redis.stop("SIGKILL");
    // Calls failing meanwhile (a sweep, the rate limiter failing open) add nothing.
    for (let i = 0; i < 5; i++) outage.failed("presence-sweep", new Error("connect ECONNREFUSED"));
    await sleep(1_500); // several reconnect attempts of every connection
    expect(said(/^redis is unreachable/), JSON.stringify(lines)).to.equal(1);
    expect(outage.down).to.equal(true);
    await redis.start();
    await until(() => (said(/^redis is reachable again/) ? true : undefined), 10_000, "the end of the outage");
    await until(() => (conns.every((c) => c.status === "ready") ? true : undefined), 10_000, "every connection back");
    expect(said(/^redis is reachable again/)).to.equal(1);
    expect(lines.find((l) => /again/.test(l.msg))!.failures).to.be.greaterThan(5);
    expect(outage.down).to.equal(false);
  });

  it("a call that failed while the connections stayed up ends its outage with the next call that succeeds", () => {
    const before = lines.length;
    outage.failed("rate-limiter (failing open)", new Error("rate limiter: no answer from redis in 250 ms"));
    outage.failed("rate-limiter (failing open)");
    outage.succeeded();
    outage.succeeded();
    expect(lines.slice(before).map((l) => l.msg.split(";")[0])).to.deep.equal(["redis is unreachable", "redis is reachable again"]);
  });

  it("a connection closed on purpose is no outage", async () => {
    const before = lines.length;
    const extra = createRedis(redis.url, "commands", "city-test-extra", { outage });
    await until(() => (extra.status === "ready" ? true : undefined), 5_000, "ready");
    await closeRedis(extra);
    expect(lines.slice(before)).to.deep.equal([]);
  });
});
