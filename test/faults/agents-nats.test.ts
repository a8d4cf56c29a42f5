// NATS down with AGENTS_TRANSPORT=nats (a private nats-server, killed and restarted on its port):
// invocations answer a clear 502/504 while it is away, the prompts are kept, and once it is back
// every connection heals by itself (the job workers' and the agent's), answers resume and the
// queue drains.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { dropKeys } from "../support/redis-keys.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { expectQueueDrained, invoke, secondMeFaultEnv, untilAnswered, userPrompts } from "./secondme-support.js";
import { privateNats, type PrivateService } from "./support.js";

describe("faults: NATS down with the nats transport", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `city:test:${run}:bull`;
  let nats: PrivateService;
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  let n = 0;
  const user = () => userToken(`u_nats_${run}_${n++}`);

  before(async function () {
    this.timeout(60_000);
    nats = await privateNats();
    standin = await startAgentsCoreStandin({ port: 0, natsUrl: nats.url });
    srv = await startServer({
      AGENTS_TRANSPORT: "nats",
      NATS_URL: nats.url,
      AGENTS_CORE_URL: standin.url,
      ...secondMeFaultEnv(run, prefix),
    });
    await untilAnswered(srv, user(), 30_000); // the job process starts after the API
  });

  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await standin?.close();
    await nats?.stop();
    await dropKeys(`${prefix}:*`);
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
    await untilAnswered(srv, user(), 20_000);
    const back = await Promise.all(users.map((t, i) => invoke(srv.url, t, `nats back ${i}`)));
    for (const [i, r] of back.entries()) {
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.reply).to.match(new RegExp(`^echo: nats back ${i} `));
      expect((await userPrompts(srv.url, users[i]!)).slice(0, 2)).to.deep.equal([`no nats ${i}`, `nats back ${i}`]);
    }
    await expectQueueDrained(prefix);
  });
});
