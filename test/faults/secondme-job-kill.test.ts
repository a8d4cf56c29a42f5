// The job process SIGKILLed while the agent works on a prompt, with two more prompts of the same
// user queued behind it: `npm start` replaces the job process, BullMQ's stalled-job check hands the
// killed turn to it once its lock expired (15 s), the turn runs again (the agent is asked a second
// time; nothing is stored twice), and the caller, still waiting, gets its one reply. The prompts
// behind it reach the agent only after it, one at a time, in the order accepted.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { SioClient } from "../support/clients.js";
import { dropKeys } from "../support/redis-keys.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { expectQueueDrained, invoke, untilAnswered } from "./secondme-support.js";
import { jobProcessPid, sleep } from "./support.js";

describe("faults: the job process killed during an agent call", function () {
  this.timeout(150_000);
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `city:test:${run}:bull`;
  let standin: AgentsCoreStandin;
  let srv: TestServer;

  before(async function () {
    this.timeout(120_000);
    standin = await startAgentsCoreStandin({ port: 0 });
    srv = await startServer({
      AGENTS_CORE_URL: standin.url,
      BULLMQ_PREFIX: prefix,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
      // Long enough for the caller to outwait the kill, the replacement and the stalled-job check.
      SECONDME_TIMEOUT_MS: "60000",
    });
    await untilAnswered(srv, userToken(`u_kill_warm_${run}`), 60_000);
  });

  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await standin?.close();
    await dropKeys(`${prefix}:*`);
  });

  it("answers the interrupted prompt once, then the ones behind it in order", async () => {
    const id = `u_kill_${run}`;
    const token = userToken(id);
    const socket = await SioClient.connect(srv.url, "/city/presence", { token });
    try {
      const prompts = [`[[slow:3000]] interrupted ${run}`, `second ${run}`, `third ${run}`];
      const queued = () => socket.events.filter((e) => e.event === "secondme.status" && e.state === "queued").length;
      const answers: Promise<{ status: number; body: any }>[] = [];
      for (const [i, p] of prompts.entries()) {
        answers.push(invoke(srv.url, token, p));
        await socket.waitFor(() => queued() === i + 1, 10_000, `prompt ${i} queued`);
      }
      // The agent has the first prompt: the turn is mid-call in the job process.
      const deadline = Date.now() + 20_000;
      while (standin.stats().byMessage[prompts[0]!] !== 1) {
        if (Date.now() > deadline) throw new Error("the agent never got the first prompt");
        await sleep(50);
      }
      const killed = await jobProcessPid(srv.process.pid!);
      expect(killed, "the job process").to.be.a("number");
      process.kill(killed!, "SIGKILL");

      const results = await Promise.all(answers);
      for (const r of results) expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(results.map((r) => r.body.reply)).to.deep.equal([
        `echo: ${prompts[0]} (context: 0)`,
        `echo: ${prompts[1]} (context: 2)`,
        `echo: ${prompts[2]} (context: 4)`,
      ]);
      const replacement = await jobProcessPid(srv.process.pid!);
      expect(replacement, "a new job process").to.be.a("number").and.not.equal(killed);
      // The interrupted turn was asked again; the others once, after it.
      const calls = standin.stats().byMessage;
      expect(prompts.map((p) => calls[p])).to.deep.equal([2, 1, 1]);
      // Stored once each, in order; no reply pushed besides the HTTP answers.
      const h = await (await fetch(`${srv.url}/secondme/history?limit=20`, { headers: { authorization: `Bearer ${token}` } })).json();
      expect((h as { content: string }[]).map((m) => m.content)).to.deep.equal(prompts.flatMap((p, i) => [p, results[i]!.body.reply]));
      expect(socket.events.filter((e) => e.event === "secondme.reply")).to.deep.equal([]);
      await expectQueueDrained(prefix);
    } finally {
      socket.close();
    }
  });
});
