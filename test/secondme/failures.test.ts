// Every failure mode of the stand-in: the caller's status, the retries the contract asks for, and
// the user's message kept in history whatever happened. Then a timeout whose reply arrives later
// through the notification channel.
import { expect } from "chai";
import { Queue } from "bullmq";
import { newId } from "../../src/core/ids.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { SECONDME_QUEUE } from "../../src/infra/queue/queue-names.js";
import { SECONDME_JOB_NAME, type SecondMeJobData } from "../../src/infra/queue/secondme-job.js";
import { call, eventually, history, invoke, REDIS_URL, startRig, watchNotifications, type Rig } from "./support.js";

describe("secondme failures", () => {
  let rig: Rig;
  before(async function () {
    this.timeout(60_000);
    // Three tries with 20 ms backoff; a 1.5 s wait so "slow" can outlast it. The agent's own
    // timeout would default to that same 1.5 s; 10 s lets a slow reply arrive after the wait.
    rig = await startRig({ env: { SECONDME_TIMEOUT_MS: "1500", AGENTS_CORE_TIMEOUT_MS: "10000", SECONDME_ATTEMPTS: "3" } });
  });
  after(async function () {
    this.timeout(30_000);
    await rig?.stop();
  });

  async function expectKept(token: string, prompt: string, assistantReplies = 0) {
    const h = await history(rig, token, "?limit=10");
    expect(h.body.filter((m: any) => m.role === "user").map((m: any) => m.content)).to.deep.equal([prompt]);
    expect(h.body.filter((m: any) => m.role === "assistant")).to.have.length(assistantReplies);
  }

  it("500: retried, then 502, and the prompt is kept", async () => {
    const u = rig.user();
    const prompt = `boom ${u.id} [[fail:500]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(502);
    expect(res.body.error.code).to.equal("agent_failed");
    expect(rig.standin.stats().byMessage[prompt]).to.equal(3);
    await expectKept(u.token, prompt);
  });

  it("a 500 that clears up on retry answers 200 with one reply", async () => {
    const u = rig.user();
    const prompt = `flaky ${u.id} [[failfirst:2]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(200);
    expect(res.body.reply).to.equal(`echo: ${prompt} (context: 0)`);
    expect(rig.standin.stats().byMessage[prompt]).to.equal(3);
    await expectKept(u.token, prompt, 1);
  });

  it("429: passed on as 429 with Retry-After, not retried", async () => {
    const u = rig.user();
    const prompt = `busy ${u.id} [[fail:429]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(429);
    expect(res.body.error.code).to.equal("rate_limited");
    expect(res.headers.get("retry-after")).to.equal("1");
    expect(rig.standin.stats().byMessage[prompt]).to.equal(1);
    await expectKept(u.token, prompt);
  });

  it("another 4xx: 502 at once, not retried", async () => {
    const u = rig.user();
    const prompt = `refused ${u.id} [[fail:400]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(502);
    expect(rig.standin.stats().byMessage[prompt]).to.equal(1);
    await expectKept(u.token, prompt);
  });

  it("malformed JSON: 502, and the prompt is kept", async () => {
    const u = rig.user();
    const prompt = `garbled ${u.id} [[malformed]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(502);
    expect(res.body.error.code).to.equal("agent_failed");
    expect(res.body.error.message).to.match(/malformed/i);
    await expectKept(u.token, prompt);
  });

  it("a 2xx without a reply field: 502, and the prompt is kept", async () => {
    const u = rig.user();
    const prompt = `mute ${u.id} [[noreply]]`;
    const res = await invoke(rig, u.token, prompt);
    expect(res.status).to.equal(502);
    expect(res.body.error.message).to.match(/without a reply/i);
    await expectKept(u.token, prompt);
  });

  it("reads the reply from any of the tolerated fields", async () => {
    const u = rig.user();
    for (const f of ["response_text", "response", "output", "text", "message.content"]) {
      const prompt = `field ${f} [[field:${f}]]`;
      const res = await invoke(rig, u.token, prompt);
      expect(res.status, f).to.equal(200);
      expect(res.body.reply).to.match(new RegExp(`^echo: field ${f.replace(".", "\\.")} `));
    }
  });

  it("a failed prompt does not block the user's next one", async () => {
    const u = rig.user();
    expect((await invoke(rig, u.token, "bad [[fail:500]]")).status).to.equal(502);
    const ok = await invoke(rig, u.token, "good");
    expect(ok.status).to.equal(200);
    // The failed prompt is context too: it is part of the conversation.
    expect(ok.body.reply).to.equal("echo: good (context: 1)");
  });

  it("slow beyond the wait: 504, then the reply is stored and pushed as secondme.reply", async () => {
    const u = rig.user();
    const notes = await watchNotifications(u.id);
    const seen = notes.seen;
    try {
      const prompt = `slow ${u.id} [[slow:2500]]`;
      const res = await invoke(rig, u.token, prompt);
      expect(res.status).to.equal(504);
      expect(res.body.error.code).to.equal("agent_timeout");
      await expectKept(u.token, prompt);
      const late = await eventually(() => seen.find((n) => n.event === "secondme.reply"), 5_000);
      const payload = late.payload as { reply: string; response: string; request_id: string; message_id: string };
      expect(payload.reply).to.equal(`echo: ${prompt} (context: 0)`);
      expect(payload.response).to.equal(payload.reply);
      // `done` is said right after the reply; it may be read a moment later.
      const states = () => seen.filter((n) => n.event === "secondme.status").map((n) => (n.payload as { state: string }).state);
      await eventually(() => (states().length === 3 ? true : undefined));
      expect(states()).to.deep.equal(["queued", "thinking", "done"]);
      expect(seen.every((n) => (n.payload as { request_id: string }).request_id === payload.request_id)).to.equal(true);
      const h = await history(rig, u.token);
      expect(h.body.at(-1)).to.include({ role: "assistant", content: payload.reply });
    } finally {
      await notes.close();
    }
  });

  it("tells the sockets queued, thinking, failed for a failure, and sends no late reply", async () => {
    const u = rig.user();
    const notes = await watchNotifications(u.id);
    const seen = notes.seen;
    try {
      expect((await invoke(rig, u.token, "nope [[fail:404]]")).status).to.equal(502);
      const failed = await eventually(() => seen.find((n) => (n.payload as { state?: string }).state === "failed"));
      expect((failed.payload as { error: { code: string } }).error.code).to.equal("agent_failed");
      expect(seen.map((n) => (n.payload as { state?: string }).state)).to.deep.equal(["queued", "thinking", "failed"]);
      // An on-time reply is answered over HTTP only.
      const ok = await invoke(rig, u.token, "fine");
      expect(ok.status).to.equal(200);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.some((n) => n.event === "secondme.reply")).to.equal(false);
    } finally {
      await notes.close();
    }
  });

  it("a 504 holds the user's next prompt until the slow one is answered, then answers it in order", async () => {
    const u = rig.user();
    expect((await invoke(rig, u.token, "slowpoke [[slow:2000]]")).status).to.equal(504);
    const next = await invoke(rig, u.token, "after");
    expect(next.status).to.equal(200);
    expect(next.body.reply).to.equal("echo: after (context: 2)");
    const h = await call(rig.url, "GET", "/v1/secondme/history", u.token);
    expect(h.body.map((p: any) => [p.prompt, p.response])).to.deep.equal([
      ["slowpoke [[slow:2000]]", "echo: slowpoke [[slow:2000]] (context: 0)"],
      ["after", "echo: after (context: 2)"],
    ]);
  });

  it("pushes the reply to the user's sockets when the process that asked is gone", async () => {
    const u = rig.user();
    const conn = createRedis(REDIS_URL, "bullmq", "city-test-queue");
    const queue = new Queue<SecondMeJobData>(SECONDME_QUEUE, { connection: conn, prefix: rig.env.BULLMQ_PREFIX });
    const notes = await watchNotifications(u.id);
    const seen = notes.seen;
    try {
      const messageId = newId.secondmeMessage();
      // As an API process would enqueue it, with a reply channel nobody listens on any more.
      await queue.add(
        SECONDME_JOB_NAME,
        { userId: u.id, prompt: "orphan", messageId, replyId: newId.secondmeMessage(), replyTo: `city:secondme:reply:gone-${messageId}`, deadline: Date.now() + 1_000 },
        { jobId: messageId },
      );
      const late = await eventually(() => seen.find((n) => n.event === "secondme.reply"));
      expect(late.payload).to.include({ request_id: messageId, reply: "echo: orphan (context: 0)" });
      expect((await history(rig, u.token)).body.map((m: any) => m.content)).to.deep.equal(["orphan", "echo: orphan (context: 0)"]);
    } finally {
      await notes.close();
      await queue.close();
      await closeRedis(conn);
    }
  });
});
