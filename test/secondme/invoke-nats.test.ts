// Second Me over the NATS transport (request/reply on agents.invoke against the real NATS server),
// and the agents.reply subscriber.
import { expect } from "chai";
import { createLogger } from "../../src/core/logger.js";
import { subscribeAgentReplies, type AgentRoomReply } from "../../src/infra/agents-core/agents-reply-subscriber.js";
import { eventually, history, invoke, NATS_URL, startRig, type Rig } from "./support.js";

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

  it("hands agents.reply messages meant for a room to the handler, and ignores the rest", async () => {
    const got: AgentRoomReply[] = [];
    const group = `city-test-${Math.random().toString(36).slice(2)}`;
    const sub = await subscribeAgentReplies({ natsUrl: NATS_URL, handler: async (r) => void got.push(r), logger: createLogger("error"), queueGroup: group });
    try {
      const tag = Math.random().toString(36).slice(2);
      await rig.standin.publishAgentsReply({ agent_id: "ag_helper", room_id: "room_city_general", reply_text: `by room_id ${tag}` });
      await rig.standin.publishAgentsReply({ agent_id: "ag_helper", channel_id: "room:room_city_welcome", response: `by channel ${tag}` });
      await rig.standin.publishAgentsReply({ agent_id: "ag_helper", channel_id: "secondme:u_x", reply: `private ${tag}` });
      await rig.standin.publishAgentsReply({ room_id: "room_city_general", reply: `no agent ${tag}` });
      await rig.standin.publishAgentsReply({ agent_id: "ag_helper", room_id: "room_city_general" });
      const mine = () => got.filter((r) => r.text.endsWith(tag));
      await eventually(() => (mine().length >= 2 ? true : undefined));
      await new Promise((r) => setTimeout(r, 200));
      expect(mine()).to.deep.equal([
        { agentId: "ag_helper", roomId: "room_city_general", text: `by room_id ${tag}` },
        { agentId: "ag_helper", roomId: "room_city_welcome", text: `by channel ${tag}` },
      ]);
    } finally {
      await sub.close();
    }
  });
});
