// NATS down with AGENTS_TRANSPORT=nats (a private nats-server, killed and restarted on its port):
// invocations answer a clear 502/504 while it is away, the prompts are kept, and once it is back
// every connection heals by itself (the job workers' and the agent's), answers resume and the
// queue drains.
import { expect } from "chai";
import { Queue } from "bullmq";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { SECONDME_QUEUE } from "../../src/infra/queue/queue-names.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { privateNats, sleep, type PrivateService } from "./support.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

async function invoke(url: string, token: string, prompt: string) {
  const res = await fetch(`${url}/secondme/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ prompt }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function userPrompts(url: string, token: string): Promise<string[]> {
  const res = await fetch(`${url}/secondme/history?limit=100`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { role: string; content: string }[]).filter((m) => m.role === "user").map((m) => m.content);
}

describe("faults: NATS down with the nats transport", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `city:test:${run}:bull`;
  let nats: PrivateService;
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  let n = 0;
  const user = () => userToken(`u_nats_${run}_${n++}`);

  async function untilAnswered(deadlineMs: number): Promise<void> {
    const t = user();
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const r = await invoke(srv.url, t, "are you there?");
      if (r.status === 200) return;
      if (Date.now() > deadline) throw new Error(`Second Me never answered over NATS: ${JSON.stringify(r.body)}\n${srv.output()}`);
      await sleep(300);
    }
  }

  before(async function () {
    this.timeout(60_000);
    nats = await privateNats();
    standin = await startAgentsCoreStandin({ port: 0, natsUrl: nats.url });
    srv = await startServer({
      AGENTS_TRANSPORT: "nats",
      NATS_URL: nats.url,
      AGENTS_CORE_URL: standin.url,
      BULLMQ_PREFIX: prefix,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
      AGENTS_CORE_TIMEOUT_MS: "1500",
      SECONDME_TIMEOUT_MS: "4000",
      SECONDME_ATTEMPTS: "2",
      SECONDME_BACKOFF_MS: "20",
    });
    await untilAnswered(30_000); // the job process starts after the API
  });

  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await standin?.close();
    await nats?.stop();
    const redis = createRedis(REDIS_URL, "commands", "city-test-faults");
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== "0");
    } finally {
      await closeRedis(redis);
    }
  });

  it("while NATS is down: a clear 502/504 and the prompts are kept; then everything heals and drains", async () => {
    await nats.stop("SIGKILL");
    const users = Array.from({ length: 3 }, () => user());
    const down = await Promise.all(users.map((t, i) => invoke(srv.url, t, `no nats ${i}`)));
    for (const [i, r] of down.entries()) {
      expect([502, 504], JSON.stringify(r.body)).to.include(r.status);
      expect(r.body.error.code).to.equal(r.status === 502 ? "agent_failed" : "agent_timeout");
      expect(r.body.error.message).to.match(/agents core|agent/i);
      expect(await userPrompts(srv.url, users[i]!)).to.deep.equal([`no nats ${i}`]);
    }
    expect((await fetch(`${srv.url}/healthz`)).status).to.equal(200);
    // NATS is no readiness dependency: REST keeps serving the rest of the city.
    expect((await fetch(`${srv.url}/readyz`)).status).to.equal(200);

    await nats.start();
    await untilAnswered(20_000);
    const back = await Promise.all(users.map((t, i) => invoke(srv.url, t, `nats back ${i}`)));
    for (const [i, r] of back.entries()) {
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.reply).to.match(new RegExp(`^echo: nats back ${i} `));
      expect((await userPrompts(srv.url, users[i]!)).slice(0, 2)).to.deep.equal([`no nats ${i}`, `nats back ${i}`]);
    }
    const queue = new Queue(SECONDME_QUEUE, { connection: createRedis(REDIS_URL, "bullmq", "city-test-faults"), prefix });
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children");
        if (Object.values(counts).every((c) => c === 0)) break;
        if (Date.now() > deadline) throw new Error(`the queue did not drain: ${JSON.stringify(counts)}`);
        await sleep(200);
      }
    } finally {
      await queue.close();
      await closeRedis(queue.opts.connection as never);
    }
  });
});
