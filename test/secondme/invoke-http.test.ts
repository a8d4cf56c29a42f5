// Second Me over the HTTP transport: the happy path, context, history in both dialects, profile,
// clear, per-user order, privacy, and input/auth errors.
import { expect } from "chai";
import { ulid } from "ulid";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { agentToken } from "../support/tokens.js";
import { call, eventually, history, invoke, REDIS_URL, startRig, watchNotifications, type Rig } from "./support.js";

describe("secondme over http", () => {
  let rig: Rig;
  before(async function () {
    this.timeout(60_000);
    rig = await startRig({ transport: "http" });
  });
  after(async function () {
    this.timeout(30_000);
    await rig?.stop();
  });

  it("answers a prompt with reply, response and history, and stores both messages", async () => {
    const u = rig.user();
    const res = await invoke(rig, u.token, "Привіт, Second Me! 🏙️");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.reply).to.equal("echo: Привіт, Second Me! 🏙️ (context: 0)");
    expect(res.body.response).to.equal(res.body.reply);
    expect(res.body.history.map((m: any) => [m.role, m.content])).to.deep.equal([
      ["user", "Привіт, Second Me! 🏙️"],
      ["assistant", res.body.reply],
    ]);
    for (const m of res.body.history) expect(new Date(m.created_at).toISOString()).to.equal(m.created_at);
    const h = await history(rig, u.token);
    expect(h.status).to.equal(200);
    expect(h.body).to.deep.equal(res.body.history);
  });

  it("gives the agent the earlier turns as context", async () => {
    const u = rig.user();
    expect((await invoke(rig, u.token, "one")).body.reply).to.equal("echo: one (context: 0)");
    expect((await invoke(rig, u.token, "two")).body.reply).to.equal("echo: two (context: 2)");
    const third = await invoke(rig, u.token, "three\nwith a second line");
    expect(third.body.reply).to.equal("echo: three\nwith a second line (context: 4)");
    expect(third.body.history).to.have.length(6);
  });

  it("serves history oldest first with a limit, and pairs under /v1", async () => {
    const u = rig.user();
    for (const p of ["a", "b", "c"]) expect((await invoke(rig, u.token, p)).status).to.equal(200);
    const h = await history(rig, u.token, "?limit=3");
    expect(h.body.map((m: any) => m.content)).to.deep.equal(["echo: b (context: 2)", "c", "echo: c (context: 4)"]);
    expect((await history(rig, u.token)).body).to.have.length(5);
    expect((await history(rig, u.token, "", "/api")).body).to.have.length(5);
    const v1 = await history(rig, u.token, "?limit=2", "/v1");
    expect(v1.status).to.equal(200);
    expect(v1.body).to.have.length(2);
    expect(v1.body.map((p: any) => [p.prompt, p.response])).to.deep.equal([
      ["b", "echo: b (context: 2)"],
      ["c", "echo: c (context: 4)"],
    ]);
    expect(v1.body[0]).to.have.all.keys("id", "prompt", "response", "created_at");
    expect(v1.body[0].id).to.match(/^smmsg_[0-9A-Z]{26}$/);
    expect((await history(rig, u.token, "?limit=0")).status).to.equal(400);
    // Above the maximum is read as the maximum (100): all the user has, here 6 messages.
    const capped = await history(rig, u.token, "?limit=101");
    expect(capped.status).to.equal(200);
    expect(capped.body).to.have.length(6);
  });

  it("reports the profile, and clears the history", async () => {
    const u = rig.user();
    const empty = await call(rig.url, "GET", "/secondme/profile", u.token);
    expect(empty.body).to.deep.equal({ user_id: u.id, agent_id: "ag_secondme_global", total_interactions: 0, last_interaction: null });
    await invoke(rig, u.token, "x");
    await invoke(rig, u.token, "y");
    const p = await call(rig.url, "GET", "/v1/secondme/profile", u.token);
    expect(p.body.total_interactions).to.equal(2);
    expect(p.body.last_interaction).to.be.a("string");
    const cleared = await call(rig.url, "POST", "/secondme/history/clear", u.token);
    expect(cleared.status).to.equal(204);
    expect((await history(rig, u.token)).body).to.deep.equal([]);
    expect((await call(rig.url, "GET", "/secondme/profile", u.token)).body.total_interactions).to.equal(0);
    // A fresh session after the clear: no context from before it.
    expect((await invoke(rig, u.token, "again")).body.reply).to.equal("echo: again (context: 0)");
  });

  it("answers two rapid prompts of one user in order", async () => {
    const u = rig.user();
    // The first is slow: were they run side by side, the second would finish first and see no context.
    const [a, b] = await Promise.all([invoke(rig, u.token, "first [[slow:300]]"), invoke(rig, u.token, "second")]);
    expect(a.status).to.equal(200);
    expect(b.status).to.equal(200);
    const h = await history(rig, u.token, "?limit=10");
    const contents = h.body.map((m: any) => m.content);
    // Whichever reached the queue first, each prompt is directly followed by its own reply.
    expect(contents).to.have.length(4);
    expect(contents[1]).to.equal(`echo: ${contents[0]} (context: 0)`);
    expect(contents[3]).to.equal(`echo: ${contents[2]} (context: 2)`);
  });

  it("answers a prompt sent while the previous one runs after it, in the order sent", async () => {
    const u = rig.user();
    const first = invoke(rig, u.token, "first [[slow:600]]");
    await new Promise((r) => setTimeout(r, 150));
    const second = await invoke(rig, u.token, "second");
    expect(second.body.reply).to.equal("echo: second (context: 2)");
    expect((await first).body.reply).to.equal("echo: first [[slow:600]] (context: 0)");
    const h = await history(rig, u.token, "?limit=10");
    expect(h.body.map((m: any) => m.content)).to.deep.equal(["first [[slow:600]]", "echo: first [[slow:600]] (context: 0)", "second", "echo: second (context: 2)"]);
  });

  it("runs many prompts of one user strictly one after another", async () => {
    const u = rig.user();
    // Five: as many as one user may have waiting or running (SECONDME_MAX_QUEUED_PER_USER).
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => invoke(rig, u.token, `p${i}`)));
    for (const r of results) expect(r.status).to.equal(200);
    const contexts = results.map((r) => Number(/\(context: (\d+)\)$/.exec(r.body.reply)![1]));
    expect(contexts.sort((x, y) => x - y)).to.deep.equal([0, 2, 4, 6, 8]);
  });

  it("refuses a sixth prompt while five wait or run: 429 at once with retry_after, nothing queued", async () => {
    const u = rig.user();
    const notes = await watchNotifications(u.id);
    const seen = notes.seen;
    try {
      const five = Promise.all(Array.from({ length: 5 }, (_, i) => invoke(rig, u.token, `[[slow:400]] q${i}`)));
      // All five are in the user's lane once each was told `queued`.
      await eventually(() => (seen.filter((n) => (n.payload as { state?: string }).state === "queued").length === 5 ? true : undefined));
      const sixth = await invoke(rig, u.token, "one too many");
      expect(sixth.status, JSON.stringify(sixth.body)).to.equal(429);
      expect(sixth.body.error.code).to.equal("rate_limited");
      expect(sixth.body.error.retry_after).to.be.a("number").and.at.least(1);
      expect(sixth.headers.get("retry-after")).to.equal(String(sixth.body.error.retry_after));
      for (const r of await five) expect(r.status).to.be.oneOf([200, 504]);
      // The refused prompt was never queued: the agent never saw it, the history never holds it.
      await eventually(async () => ((await history(rig, u.token, "?limit=20")).body.length === 10 ? true : undefined), 10_000);
      const h = await history(rig, u.token, "?limit=20");
      expect(h.body.filter((m: any) => m.role === "user").map((m: any) => m.content).sort()).to.deep.equal([0, 1, 2, 3, 4].map((i) => `[[slow:400]] q${i}`));
      expect(rig.standin.stats().byMessage["one too many"]).to.equal(undefined);
      // Room again once they are done.
      expect((await invoke(rig, u.token, "now there is room")).status).to.equal(200);
    } finally {
      await notes.close();
    }
  });

  it("lets the agent take nearly all of SECONDME_TIMEOUT_MS when AGENTS_CORE_TIMEOUT_MS is unset", async function () {
    // The rig waits 5 s and sets no agent timeout: the call inherits the 5 s (config.test.ts checks
    // the derived value). An agent answering after 4 s is an answer, not a 504.
    this.timeout(20_000);
    expect(rig.env.SECONDME_TIMEOUT_MS).to.equal("5000");
    expect(rig.env.AGENTS_CORE_TIMEOUT_MS).to.equal(undefined);
    const u = rig.user();
    const res = await invoke(rig, u.token, "[[slow:4000]] thoughtful");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.reply).to.equal("echo: [[slow:4000]] thoughtful (context: 0)");
  });

  it("with the default agent timeout, a turn that waited in the user's lane past the wait still answers: 504, then secondme.reply", async function () {
    this.timeout(30_000);
    const u = rig.user();
    const notes = await watchNotifications(u.id);
    const seen = notes.seen;
    try {
      // The second waits ~3 s for the first, then its own 3 s call ends after its 5 s wait; the
      // call itself is well within its (5 s) timeout, so the job finishes and delivers late.
      const first = invoke(rig, u.token, "[[slow:3000]] one");
      await new Promise((r) => setTimeout(r, 100));
      const second = await invoke(rig, u.token, "[[slow:3000]] two");
      expect((await first).status).to.equal(200);
      expect(second.status, JSON.stringify(second.body)).to.equal(504);
      expect(second.body.error.code).to.equal("agent_timeout");
      const late = await eventually(() => seen.find((n) => n.event === "secondme.reply"), 10_000);
      expect(late.payload).to.include({ reply: "echo: [[slow:3000]] two (context: 2)" });
      const h = await history(rig, u.token, "?limit=10");
      expect(h.body.map((m: any) => m.content)).to.deep.equal([
        "[[slow:3000]] one",
        "echo: [[slow:3000]] one (context: 0)",
        "[[slow:3000]] two",
        "echo: [[slow:3000]] two (context: 2)",
      ]);
    } finally {
      await notes.close();
    }
  });

  it("heals a lane whose head will never leave (its process died before the job was added)", async () => {
    const u = rig.user();
    const redis = createRedis(REDIS_URL, "commands", "city-test");
    try {
      // A lane entry two minutes old whose job does not exist.
      await redis.rpush(`city:secondme:lane:${u.id}`, `smmsg_${ulid(Date.now() - 120_000)}`);
      const res = await invoke(rig, u.token, "still answered");
      expect(res.status).to.equal(200);
      expect(await redis.exists(`city:secondme:lane:${u.id}`)).to.equal(0);
    } finally {
      await closeRedis(redis);
    }
  });

  it("keeps users apart and out of the public feed", async () => {
    const alice = rig.user("alice");
    const bob = rig.user("bob");
    await invoke(rig, alice.token, "alice secret 7f3a");
    await invoke(rig, bob.token, "bob secret 91c2");
    const ha = JSON.stringify((await history(rig, alice.token, "?limit=100")).body);
    const hb = JSON.stringify((await history(rig, bob.token, "?limit=100")).body);
    expect(ha).to.include("alice secret 7f3a").and.not.include("bob secret");
    expect(hb).to.include("bob secret 91c2").and.not.include("alice secret");
    // Bob's context never holds Alice's turns.
    expect((await invoke(rig, bob.token, "next")).body.reply).to.equal("echo: next (context: 2)");
    const feed = JSON.stringify((await call(rig.url, "GET", "/city/feed?limit=100")).body);
    expect(feed).to.not.include("secret 7f3a").and.not.include("secret 91c2");
  });

  it("refuses missing tokens, agent tokens and bad prompts", async () => {
    const u = rig.user();
    expect((await call(rig.url, "POST", "/secondme/invoke", undefined, { prompt: "x" })).status).to.equal(401);
    expect((await call(rig.url, "GET", "/secondme/history")).status).to.equal(401);
    expect((await call(rig.url, "GET", "/secondme/profile")).status).to.equal(401);
    expect((await call(rig.url, "POST", "/secondme/history/clear")).status).to.equal(401);
    const agent = await call(rig.url, "POST", "/secondme/invoke", agentToken("ag_helper"), { prompt: "x" });
    expect(agent.status).to.equal(403);
    for (const body of [{}, { prompt: "" }, { prompt: "   " }, { prompt: 5 }, { prompt: "x".repeat(8001) }]) {
      const r = await call(rig.url, "POST", "/secondme/invoke", u.token, body);
      expect(r.status, JSON.stringify(body).slice(0, 40)).to.equal(400);
      expect(r.body.error.code).to.equal("validation_failed");
    }
    expect((await invoke(rig, u.token, "y".repeat(8000))).status).to.equal(200);
    expect((await history(rig, u.token)).body).to.have.length(2);
  });
});
