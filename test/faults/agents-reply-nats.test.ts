// Agents' room replies on JetStream while things restart: an agent publishes a reply into one room
// every 50 ms (plain core publish, as agents do) while the private nats-server (JetStream on file
// storage) is restarted, and then while the job process that consumes agents.reply is killed with
// SIGKILL. Every reply ends up in the room exactly once, in the order published. (On core NATS,
// every reply published while the consuming process was being replaced was lost.)
//
// Core publish is at most once at the agent's end: a client drops what it publishes while
// disconnected (nats.js v2 discards its buffer at every reconnect attempt; nats.go keeps 8 MB), and
// a publish in flight when the server stops is gone. The agent here does what an agent must for
// none of its replies to be lost: it gives each one an id (Nats-Msg-Id), has the stream confirm it
// (JetStream answers a publish that carries a reply subject), and sends it again after a
// reconnect until confirmed, in order. A reply sent twice that way is
// stored once (JetStream's duplicate window, and the id as the message's idempotency key).
import { expect } from "chai";
import { connect, headers, JSONCodec, type NatsConnection } from "nats";
import { api, freshRoom } from "../support/api.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { jobProcessPid, privateNats, sleep, type PrivateService } from "./support.js";

const NATS_PORT = 4242;
const jc = JSONCodec();

type Stored = { body: string; seq: number; author_agent_id: string | null };

/** An agent that loses none of its replies to a NATS outage (see the top of the file). */
function steadyAgent(nc: NatsConnection, room: string) {
  const queue: { id: string; text: string }[] = [];
  let open = true;
  const sender = (async () => {
    while (open || queue.length > 0) {
      const next = queue[0];
      if (!next) {
        await sleep(5);
        continue;
      }
      const h = headers();
      h.set("Nats-Msg-Id", next.id);
      try {
        // A publish with a reply subject is answered by JetStream once the stream has stored it
        // (a PubAck); a flush only says the server read it, and a server stopping right then may
        // not have stored it yet (seen: one tick lost in a full run).
        const ack = jc.decode((await nc.request("agents.reply", jc.encode({ agent_id: "ag_steady", room_id: room, reply_text: next.text }), { headers: h, timeout: 2_000 })).data) as { error?: unknown };
        if (ack.error) throw new Error("not stored");
        queue.shift();
      } catch {
        await sleep(50); // disconnected: the client reconnects by itself; send it again
      }
    }
  })();
  return {
    say(id: string, text: string) {
      queue.push({ id, text });
    },
    /** Resolves once everything said is confirmed. */
    async done() {
      open = false;
      await sender;
    },
  };
}

describe("faults: agents.reply while NATS restarts and its consumer is killed", function () {
  this.timeout(180_000);
  let nats: PrivateService;
  let srv: TestServer;
  let agent: NatsConnection;
  let room: string;
  const token = userToken(`u_arn_${process.pid}`);

  const stored = async () => (await api<Stored[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`)).body;

  before(async function () {
    this.timeout(120_000);
    nats = await privateNats({ port: NATS_PORT, jetstream: true });
    srv = await startServer({ NATS_URL: nats.url });
    // As an agent connects: reconnecting forever, publishing into its own buffer while away.
    agent = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    room = await freshRoom(srv.url, token, "arn");
    // The consumer starts in the background: publish until the first reply is stored.
    for (let i = 0; (await stored()).length === 0; i++) {
      if (i > 150) throw new Error(`agents.reply was never consumed\n${srv.output().slice(-2000)}`);
      if (i % 10 === 0) agent.publish("agents.reply", jc.encode({ agent_id: "ag_steady", room_id: room, reply_text: "warm", reply_id: "warm" }));
      await sleep(200);
    }
  });

  after(async function () {
    this.timeout(30_000);
    await agent?.close();
    await srv?.stop();
    await nats?.destroy();
  });

  it("stores every reply once, in publish order, across a NATS restart and a killed consumer", async () => {
    const steady = steadyAgent(agent, room);
    let sent = 0;
    let talking = true;
    const talk = (async () => {
      while (talking) {
        steady.say(`tick-${process.pid}-${sent}`, `tick ${sent}`);
        sent++;
        await sleep(50);
      }
    })();

    await sleep(1_000);
    await nats.stop("SIGTERM"); // a restart: the server stops and comes back on its store
    await sleep(1_000);
    await nats.start();
    await sleep(1_500);
    const consumer = await jobProcessPid(srv.process.pid!);
    expect(consumer, "the consuming job process").to.be.a("number");
    process.kill(consumer!, "SIGKILL");
    await sleep(1_500);
    talking = false;
    await talk;
    await steady.done();

    const expected = Array.from({ length: sent }, (_, i) => `tick ${i}`);
    const deadline = Date.now() + 90_000;
    let msgs: Stored[] = [];
    while ((msgs = await stored()).length < sent + 1) {
      if (Date.now() > deadline) break;
      await sleep(250);
    }
    await sleep(500); // a duplicate would show up about now
    msgs = await stored();
    const bodies = [...msgs].sort((a, b) => a.seq - b.seq).map((m) => m.body);
    expect(sent).to.be.at.least(60);
    expect(bodies.filter((b) => b !== "warm"), "ticks in seq order").to.deep.equal(expected);
    expect(bodies.filter((b) => b === "warm")).to.have.length(1);
    expect(msgs.every((m) => m.author_agent_id === "ag_steady")).to.equal(true);
    const replacement = await jobProcessPid(srv.process.pid!);
    expect(replacement, "a replacement job process").to.be.a("number").and.not.equal(consumer);
  });
});
