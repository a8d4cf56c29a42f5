// Second Me over the NATS transport (request/reply on agents.invoke against the real NATS server).
// The agents.reply consumer has its own tests (agents-reply-consumer.test.ts).
import { expect } from "chai";
import { history, invoke, startRig, type Rig } from "./support.js";

describe("secondme over nats", () => {
  let rig: Rig;
  before(async function () {
    this.timeout(60_000);
    rig = await startRig({ transport: "nats", env: { SECONDME_TIMEOUT_MS: "3000" } });
  });
  after(async function () {
    this.timeout(30_000);
    await rig?.stop();
  });

  it("answers over NATS with the history right, and with context", async () => {
    const u = rig.user();
    const before = rig.standin.stats().total;
    const a = await invoke(rig, u.token, "через NATS 🚀");
    expect(a.status, JSON.stringify(a.body)).to.equal(200);
    expect(a.body.reply).to.equal("echo: через NATS 🚀 (context: 0)");
    const b = await invoke(rig, u.token, "again");
    expect(b.body.reply).to.equal("echo: again (context: 2)");
    expect(b.body.history.map((m: any) => m.role)).to.deep.equal(["user", "assistant", "user", "assistant"]);
    expect((await history(rig, u.token)).body).to.deep.equal(b.body.history);
    expect(rig.standin.stats().total - before).to.equal(2);
  });

  it("maps NATS failures like HTTP ones and keeps the prompt", async () => {
    const u = rig.user();
    const cases: [string, number][] = [
      [`n500 ${u.id} [[fail:500]]`, 502],
      [`n429 ${u.id} [[fail:429]]`, 429],
      [`nmal ${u.id} [[malformed]]`, 502],
      [`nnone ${u.id} [[noreply]]`, 502],
    ];
    for (const [prompt, status] of cases) expect((await invoke(rig, u.token, prompt)).status, prompt).to.equal(status);
    expect(rig.standin.stats().byMessage[cases[0]![0]]).to.equal(3);
    expect(rig.standin.stats().byMessage[cases[1]![0]]).to.equal(1);
    const h = await history(rig, u.token, "?limit=20");
    expect(h.body.map((m: any) => m.content)).to.deep.equal(cases.map((c) => c[0]));
  });

  it("504 when the NATS agent is slower than the wait", async () => {
    const u = rig.user();
    const res = await invoke(rig, u.token, "[[slow:3500]] sleepy");
    expect(res.status).to.equal(504);
  });
});
