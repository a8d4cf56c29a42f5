// The agents.reply JetStream consumer on its own, against a private nats-server with JetStream
// (never the machine's): what it posts and acknowledges, what it retries and in which order, what
// it drops, and that two consumers on one durable (two processes, or machines) keep one order.
// The post function stands in for the rooms service; the cluster tests prove the wiring.
import { expect } from "chai";
import { connect, JSONCodec, type NatsConnection } from "nats";
import { AppError } from "../../src/core/errors.js";
import { createLogger } from "../../src/core/logger.js";
import {
  startAgentRepliesConsumer,
  type AgentRepliesConsumer,
  type KeyedAgentRoomReply,
} from "../../src/infra/agents-core/agents-reply-consumer.js";
import { privateNats, type PrivateService } from "../faults/support.js";
import { eventually } from "./support.js";

const jc = JSONCodec();
const NATS_PORT = 4241;

describe("agents.reply consumer (JetStream, private nats-server)", function () {
  this.timeout(30_000);
  let nats: PrivateService;
  let agent: NatsConnection;
  const consumers: AgentRepliesConsumer[] = [];
  let n = 0;
  /** A durable of its own per test: each test starts from what it publishes. */
  const durable = () => `city-test-${n++}`;

  before(async () => {
    nats = await privateNats({ port: NATS_PORT, jetstream: true });
    agent = await connect({ servers: nats.url });
  });
  after(async () => {
    await Promise.all(consumers.map((c) => c.close()));
    await agent?.close();
    await nats?.destroy();
  });

  async function start(post: (r: KeyedAgentRoomReply) => Promise<void>, name: string) {
    const c = startAgentRepliesConsumer({ natsUrl: nats.url, post, logger: createLogger("silent"), durable: name, ackWaitMs: 1_000 });
    consumers.push(c);
    await c.ready;
    return c;
  }
  const publish = async (body: Record<string, unknown>) => {
    agent.publish("agents.reply", jc.encode(body));
    await agent.flush();
  };

  it("posts each room reply with its key, and skips what is not for a room", async () => {
    const got: KeyedAgentRoomReply[] = [];
    await start(async (r) => void got.push(r), durable());
    await publish({ agent_id: "ag_helper", room_id: "room_city_general", reply_text: "by room_id" });
    await publish({ agent_id: "ag_helper", channel_id: "room:room_city_welcome", response: "by channel", reply_id: "rep-7" });
    await publish({ agent_id: "ag_helper", channel_id: "secondme:u_x", reply: "private" });
    await publish({ room_id: "room_city_general", reply: "no agent" });
    await publish({ agent_id: "ag_helper", room_id: "room_city_general" });
    await publish({ agent_id: "ag_helper", room_id: "room_city_builders", reply: "last" });
    await eventually(() => (got.length >= 3 ? true : undefined));
    expect(got.map((r) => [r.agentId, r.roomId, r.text])).to.deep.equal([
      ["ag_helper", "room_city_general", "by room_id"],
      ["ag_helper", "room_city_welcome", "by channel"],
      ["ag_helper", "room_city_builders", "last"],
    ]);
    expect(got[0]!.key).to.match(/^ar:seq:CITY_AGENTS_REPLY:\d+:\d+$/);
    expect(got[1]!.key).to.equal("ar:id:rep-7");
  });

  it("retries a reply while its post finds a dependency away, holding the later ones behind it", async () => {
    const stored: string[] = [];
    let failures = 0;
    await start(async (r) => {
      if (r.text === "first" && failures < 2) {
        failures++;
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      }
      stored.push(r.text);
    }, durable());
    for (const text of ["first", "second", "third"]) await publish({ agent_id: "ag_a", room_id: "room_city_general", reply: text });
    await eventually(() => (stored.length === 3 ? true : undefined), 15_000);
    expect(failures).to.equal(2);
    expect(stored).to.deep.equal(["first", "second", "third"]);
  });

  it("holds a reply its author may not post yet (rate_limited) and the later ones behind it, rather than dropping it", async () => {
    const stored: string[] = [];
    let refusals = 0;
    await start(async (r) => {
      if (r.text === "first" && refusals < 1) {
        refusals++;
        throw new AppError("rate_limited", "Too many requests; try again in 1 s", { retryAfter: 1 });
      }
      stored.push(r.text);
    }, durable());
    for (const text of ["first", "second"]) await publish({ agent_id: "ag_a", room_id: "room_city_general", reply: text });
    await eventually(() => (stored.length === 2 ? true : undefined), 15_000);
    expect(refusals).to.equal(1);
    expect(stored).to.deep.equal(["first", "second"]);
  });

  it("drops a reply that can never be posted (an unknown room) and goes on", async () => {
    const stored: string[] = [];
    await start(async (r) => {
      if (r.roomId === "room_city_gone") throw new AppError("room_not_found", "Room does not exist");
      stored.push(r.text);
    }, durable());
    await publish({ agent_id: "ag_a", room_id: "room_city_gone", reply: "lost cause" });
    await publish({ agent_id: "ag_a", room_id: "room_city_general", reply: "after it" });
    await eventually(() => (stored.length === 1 ? true : undefined));
    expect(stored).to.deep.equal(["after it"]);
  });

  it("keeps what is published while no consumer runs, and the consumer takes it up where it stopped", async () => {
    const name = durable();
    const first: string[] = [];
    const c = await start(async (r) => void first.push(r.text), name);
    await publish({ agent_id: "ag_a", room_id: "room_city_general", reply: "before" });
    await eventually(() => (first.length === 1 ? true : undefined));
    await c.close();
    for (const text of ["while away 1", "while away 2"]) await publish({ agent_id: "ag_a", room_id: "room_city_general", reply: text });
    const second: string[] = [];
    await start(async (r) => void second.push(r.text), name);
    await eventually(() => (second.length === 2 ? true : undefined));
    expect(second).to.deep.equal(["while away 1", "while away 2"]);
  });

  it("two consumers on one durable (two processes or machines) store every reply once, in publish order", async () => {
    const name = durable();
    const stored: { by: string; text: string; key: string }[] = [];
    // Unequal commit times: were two replies handed out at once, the quick one would overtake.
    const poster = (by: string, ms: number) => async (r: KeyedAgentRoomReply) => {
      await new Promise((res) => setTimeout(res, ms));
      stored.push({ by, text: r.text, key: r.key });
    };
    await start(poster("slow", 8), name);
    await start(poster("quick", 0), name);
    const texts = Array.from({ length: 60 }, (_, i) => `reply ${i}`);
    for (const [i, text] of texts.entries()) agent.publish("agents.reply", jc.encode({ agent_id: "ag_order", room_id: `room_city_r${i % 3}`, reply: text }));
    await agent.flush();
    await eventually(() => (stored.length >= texts.length ? true : undefined), 20_000);
    expect(stored.map((s) => s.text)).to.deep.equal(texts);
    expect(new Set(stored.map((s) => s.key)).size).to.equal(texts.length);
  });
});
