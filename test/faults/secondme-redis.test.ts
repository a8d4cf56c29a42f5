// Second Me while Redis dies (a private redis-server killed with SIGKILL, restarted empty on its
// port): every invoke answers within SECONDME_TIMEOUT_MS + 1 s (503 at once while Redis is away;
// before, it hung for as long as Redis was away: no answer after 25 s); a prompt whose job was
// running when Redis died is answered once, over HTTP or, after its 504, as one `secondme.reply`
// on the user's socket; each process logs the outage once when it starts and once when it ends;
// and with persistence (AOF) a prompt queued behind a running one survives the restart, in order.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { SioClient } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { untilAnswered, userPrompts } from "./secondme-support.js";
import { privateRedis, sleep, type PrivateService } from "./support.js";

const REDIS_PORT = 6441;
const TIMEOUT_MS = 3_000;

/** POST /secondme/invoke, never waiting longer than the contract's bound for an answer. */
async function invokeBounded(url: string, token: string, prompt: string) {
  const started = Date.now();
  const res = await fetch(`${url}/secondme/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, connection: "close" },
    body: JSON.stringify({ prompt }),
    signal: AbortSignal.timeout(TIMEOUT_MS + 1_000),
  });
  return { status: res.status, body: (await res.json()) as any, ms: Date.now() - started, reqId: res.headers.get("x-request-id")! };
}

describe("faults: Second Me while Redis dies", function () {
  this.timeout(90_000);
  const run = Math.random().toString(36).slice(2, 8);
  let redis: PrivateService;
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  /** Every JSON log line of the server's processes (the test server keeps only the last 20 kB). */
  const lines: { pid: number; level: number; msg: string; reqId?: string; status?: number; err?: unknown }[] = [];
  /** The request id of the 504 of the second test. */
  let timedOut: string | undefined;
  let n = 0;
  const user = () => {
    const id = `u_smr_${run}_${n++}`;
    return { id, token: userToken(id) };
  };

  before(async function () {
    this.timeout(90_000);
    redis = await privateRedis({ port: REDIS_PORT });
    standin = await startAgentsCoreStandin({ port: 0 });
    srv = await startServer({
      REDIS_URL: redis.url,
      AGENTS_CORE_URL: standin.url,
      SECONDME_TIMEOUT_MS: String(TIMEOUT_MS),
      // The agent may take longer than the caller waits: its reply then comes as secondme.reply.
      AGENTS_CORE_TIMEOUT_MS: "15000",
      LOG_LEVEL: "info",
    });
    for (const stream of [srv.process.stdout!, srv.process.stderr!]) {
      let rest = "";
      stream.on("data", (b: Buffer) => {
        const parts = (rest + b.toString()).split("\n");
        rest = parts.pop()!;
        for (const p of parts) {
          try {
            const o = JSON.parse(p) as { pid: number; level: number; msg: string };
            lines.push(o);
          } catch {
            /* not a log line */
          }
        }
      });
    }
    await untilAnswered(srv, user().token, 30_000); // the job process starts after the API
  });

  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await standin?.close();
    await redis?.destroy();
  });

  it("Redis away: invoke answers 503 unavailable at once, every time; it answers again when Redis is back", async () => {
    const u = user();
    await redis.stop("SIGKILL");
    for (let i = 0; i < 3; i++) {
      const r = await invokeBounded(srv.url, u.token, `while away ${i}`);
      expect(r.status, JSON.stringify(r.body)).to.equal(503);
      expect(r.body.error.code).to.equal("unavailable");
      expect(r.ms, "answered at once, not at the deadline").to.be.below(TIMEOUT_MS);
    }
    await redis.start();
    await untilAnswered(srv, u.token, 20_000);
    // Refused prompts were never queued: none of them ran later.
    expect((await userPrompts(srv.url, u.token)).filter((p) => p.startsWith("while away"))).to.deep.equal([]);
  });

  it("Redis dies while the agent thinks and returns after the caller's deadline: 504 in time, then the reply once as secondme.reply", async () => {
    const u = user();
    const socket = await SioClient.connect(srv.url, "/city/presence", { token: u.token });
    try {
      const prompt = `[[slow:2000]] through the blip ${run}`;
      const pending = invokeBounded(srv.url, u.token, prompt);
      // Once the agent has the prompt, the turn is running in the job process.
      await socket.waitFor((e) => e.event === "secondme.status" && e.state === "thinking", 10_000, "thinking");
      await redis.stop("SIGKILL");
      const res = await pending;
      expect(res.status, JSON.stringify(res.body)).to.equal(504);
      expect(res.body.error.code).to.equal("agent_timeout");
      timedOut = res.reqId;
      // Back (empty) only after the caller was answered: neither side could settle who delivers.
      await redis.start();
      const reply = await socket.waitFor((e) => e.event === "secondme.reply", 20_000, "the late reply");
      expect(reply).to.include({ reply: `echo: ${prompt} (context: 0)`, response: `echo: ${prompt} (context: 0)` });
      await untilAnswered(srv, user().token, 20_000);
      await sleep(500); // a second push would arrive about now
      expect(socket.events.filter((e) => e.event === "secondme.reply")).to.have.length(1);
      expect(await userPrompts(srv.url, u.token)).to.deep.equal([prompt]);
      const h = await (await fetch(`${srv.url}/secondme/history`, { headers: { authorization: `Bearer ${u.token}` } })).json();
      expect((h as { role: string; content: string }[]).map((m) => m.role)).to.deep.equal(["user", "assistant"]);
    } finally {
      socket.close();
    }
  });

  it("each process logged each outage once when it began and once when it ended, and nothing per retry", () => {
    const down = lines.filter((l) => /^redis is unreachable/.test(l.msg));
    const up = lines.filter((l) => /^redis is reachable again/.test(l.msg));
    const perPid = (ls: typeof lines) => {
      const m = new Map<number, number>();
      for (const l of ls) m.set(l.pid, (m.get(l.pid) ?? 0) + 1);
      return [...m.values()];
    };
    // Two outages; the API workers and the job process each noticed both.
    expect(perPid(down).length, `processes that logged an outage:\n${JSON.stringify(down)}`).to.be.at.least(3);
    for (const count of perPid(down)) expect(count).to.be.at.most(2);
    for (const count of perPid(up)) expect(count).to.be.at.most(2);
    expect(perPid(up).length).to.equal(perPid(down).length);
    const noisy = lines.filter((l) => /presence sweep failed|secondme worker error|rate limiter failed open|presence store|request failed/.test(l.msg));
    expect(noisy, "lines per retry or per request").to.deep.equal([]);
    // The expected 504: one line in the API process (its request line), none with a stack.
    const about504 = lines.filter((l) => l.reqId === timedOut);
    const api504 = about504.filter((l) => l.status !== undefined || /request/.test(l.msg));
    expect(api504.map((l) => [l.msg, l.status])).to.deep.equal([["request", 504]]);
    expect(about504.filter((l) => JSON.stringify(l).includes('"stack"')), "lines with a stack").to.deep.equal([]);
    expect(new Set(about504.map((l) => l.pid)).size, "one line per process at most").to.equal(about504.length);
  });

  it("with persistence (AOF, as production runs it), a prompt queued behind a running one survives the restart: both answered once, in order", async () => {
    // The same port, now with an append-only file: to the server, one more outage.
    await redis.destroy();
    redis = await privateRedis({ port: REDIS_PORT, appendonly: true });
    await untilAnswered(srv, user().token, 30_000);
    const u = user();
    const socket = await SioClient.connect(srv.url, "/city/presence", { token: u.token });
    try {
      const prompts = [`[[slow:1500]] first ${run}`, `second ${run}`];
      const queued = () => socket.events.filter((e) => e.event === "secondme.status" && e.state === "queued").length;
      const first = invokeBounded(srv.url, u.token, prompts[0]!);
      await socket.waitFor(() => queued() === 1, 10_000, "the first queued");
      const second = invokeBounded(srv.url, u.token, prompts[1]!);
      await socket.waitFor(() => queued() === 2, 10_000, "the second queued");
      await socket.waitFor((e) => e.event === "secondme.status" && e.state === "thinking", 10_000, "thinking");
      // `queued` is said just before the job is added: wait until it is in Redis, then kill.
      const secondId = socket.events.filter((e) => e.event === "secondme.status" && e.state === "queued")[1]!.request_id as string;
      const probe = createRedis(redis.url, "commands", "city-test-probe");
      try {
        for (let i = 0; !(await probe.exists(`city:bull:secondme:${secondId}`)); i++) {
          if (i > 100) throw new Error("the second job was never added");
          await sleep(20);
        }
      } finally {
        await closeRedis(probe);
      }
      // The first is with the agent, the second waits in the user's lane (parked in BullMQ).
      await redis.stop("SIGKILL");
      await sleep(500);
      await redis.start();
      const answers = await Promise.all([first, second]);
      for (const a of answers) expect([200, 504], JSON.stringify(a.body)).to.include(a.status);
      const expected = [`echo: ${prompts[0]} (context: 0)`, `echo: ${prompts[1]} (context: 2)`];
      const pushed = (text: string) => socket.events.filter((e) => e.event === "secondme.reply" && e.reply === text).length;
      for (const [i, a] of answers.entries()) {
        if (a.status === 504) await socket.waitFor((e) => e.event === "secondme.reply" && e.reply === expected[i], 20_000, `the late reply ${i}`);
        else expect(a.body.reply).to.equal(expected[i]);
      }
      await untilAnswered(srv, user().token, 10_000);
      for (const [i, a] of answers.entries()) expect((a.status === 200 ? 1 : 0) + pushed(expected[i]!), `answers to prompt ${i}`).to.equal(1);
      const h = await (await fetch(`${srv.url}/secondme/history`, { headers: { authorization: `Bearer ${u.token}` } })).json();
      expect((h as { content: string }[]).map((m) => m.content)).to.deep.equal([prompts[0], expected[0], prompts[1], expected[1]]);
    } finally {
      socket.close();
    }
  });
});
