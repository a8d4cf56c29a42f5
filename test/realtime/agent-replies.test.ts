// Agents' own replies on NATS `agents.reply` land in the room (author_agent_id, feed kind
// agent_reply) and reach the room's listeners, like any message.
import { expect } from "chai";
import { connect, JSONCodec } from "nats";
import { startServer, type TestServer } from "../support/server.js";
import { WsClient } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

describe("realtime: agents.reply into rooms", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;

  before(async () => {
    srv = await startServer();
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
});
