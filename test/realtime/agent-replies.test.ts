// Agents' own replies on NATS `agents.reply` land in the room (author_agent_id, feed kind
// agent_reply) and reach the room's listeners, like any message; replies published back to back
// into one room are stored in the order published, each once.
import { expect } from "chai";
import { connect, JSONCodec } from "nats";
import { startServer, type TestServer } from "../support/server.js";
import { WsClient } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

describe("realtime: agents.reply into rooms", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;

  // A queue group of this run's own: test servers sharing the machine's NATS would otherwise
  // share the default group and take each other's replies (to rooms their database lacks).
  const queueGroup = `city-test-replies-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  before(async () => {
    srv = await startServer({ AGENTS_REPLY_QUEUE_GROUP: queueGroup });
  });
  after(async () => {
    await srv?.stop();
  });

  it("posts an agent's room reply as an agent_reply message, seen live and in the feed", async () => {
    const room = await freshRoom(srv.url, userToken("u_agent_watch"));
    const listener = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    const jc = JSONCodec();
    try {
      const tag = Math.random().toString(36).slice(2);
      // The subscription is made in the background at start-up: publish until it is heard.
      const heard = listener.waitFor((e) => e.event === "room.message", 20_000, "the agent's message");
      const pub = setInterval(() => nc.publish("agents.reply", jc.encode({ agent_id: "ag_oracle", channel_id: `room:${room}`, reply_text: `oracle ${tag}` })), 500);
      nc.publish("agents.reply", jc.encode({ agent_id: "ag_oracle", channel_id: "secondme:u_private", reply: `private ${tag}` }));
      const ev = await heard.finally(() => clearInterval(pub));
      expect(ev.message).to.include({ author_agent_id: "ag_oracle", author_user_id: null, body: `oracle ${tag}` });
      const feed = await api<{ kind: string; agent_id: string; room_id: string; payload: { body: string } }[]>(srv.url, "GET", "/city/feed?limit=100");
      const mine = feed.body.filter((e) => e.payload.body?.endsWith(tag));
      expect(mine.length).to.be.at.least(1);
      expect(mine.every((e) => e.kind === "agent_reply" && e.agent_id === "ag_oracle" && e.room_id === room)).to.equal(true);
      expect(feed.body.some((e) => e.payload.body === `private ${tag}`)).to.equal(false);
    } finally {
      listener.close();
      await nc.close();
    }
  });

  it("stores replies published back to back into one room in the order published, each once", async function () {
    const token = userToken("u_agent_order");
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    const jc = JSONCodec();
    type Stored = { body: string; seq: number; author_agent_id: string };
    const stored = async (room: string) => (await api<Stored[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=50`)).body;
    try {
      // Until the background subscription is live (when this test runs alone), nothing is heard.
      const warm = await freshRoom(srv.url, token, "order-warm");
      for (let i = 0; (await stored(warm)).length === 0; i++) {
        if (i > 100) throw new Error(`agents.reply never heard\n${srv.output().slice(-2000)}`);
        nc.publish("agents.reply", jc.encode({ agent_id: "ag_order", room_id: warm, reply_text: "warm" }));
        await nc.flush();
        await new Promise((r) => setTimeout(r, 200));
      }

      // Several rooms, each given three replies back to back, all in one burst. With every API
      // worker in the queue group, NATS split each room's replies between workers, which raced
      // to the database and often stored them out of order.
      const rooms: string[] = [];
      for (let i = 0; i < 10; i++) rooms.push(await freshRoom(srv.url, token, "order"));
      const PER_ROOM = 3;
      for (const [i, room] of rooms.entries()) {
        for (let k = 0; k < PER_ROOM; k++) nc.publish("agents.reply", jc.encode({ agent_id: "ag_order", room_id: room, reply_text: `room ${i} reply ${k}` }));
      }
      await nc.flush();

      for (const [i, room] of rooms.entries()) {
        let msgs: Stored[] = [];
        const deadline = Date.now() + 20_000;
        while ((msgs = await stored(room)).length < PER_ROOM && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        // Give a duplicate the chance to show up before counting.
        if (i === 0) await new Promise((r) => setTimeout(r, 300));
        msgs = await stored(room);
        const bySeq = [...msgs].sort((a, b) => a.seq - b.seq);
        expect(
          bySeq.map((m) => m.body),
          `room ${i}`,
        ).to.deep.equal(Array.from({ length: PER_ROOM }, (_, k) => `room ${i} reply ${k}`));
        expect(bySeq.every((m) => m.author_agent_id === "ag_order")).to.equal(true);
      }
    } finally {
      await nc.close();
    }
  });
});
