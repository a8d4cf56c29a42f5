// An API worker killed with SIGKILL under load: the primary replaces it in its slot; its clients
// reconnect and recover what they missed by last_message_id; senders retry unacknowledged writes
// with the same client_message_id. In the end no acknowledged message is lost, none is stored
// twice, and every client saw every message exactly once, in seq order, across its reconnects.
import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import { startServer, waitForWorkers, type TestServer } from "../support/server.js";
import { until } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { ResumingListener } from "../support/resuming-listener.js";
import { userToken } from "../support/tokens.js";
import { sleep, workerPids } from "./support.js";

type Msg = { id: string; seq: number; client_message_id: string | null };

describe("faults: an API worker killed with SIGKILL under load", function () {
  this.timeout(90_000); // about 25 s idle; a replacement worker boots slowly on a loaded 2-core box
  const run = Math.random().toString(36).slice(2, 8);
  const alice = userToken(`u_wk_alice_${run}`);
  const bob = userToken(`u_wk_bob_${run}`);
  let srv: TestServer;

  before(async () => {
    srv = await startServer({ RATE_LIMIT_ENABLED: "false", BULLMQ_PREFIX: `city:test:${run}:bull` });
  });
  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
  });

  it("is replaced; its clients recover; no acknowledged message is lost and none is doubled", async () => {
    const room = await freshRoom(srv.url, alice, "wk");
    const before = await workerPids(srv.process.pid!);
    expect([...before.keys()].sort()).to.deep.equal(["1", "2"]);

    // ResumingListeners of both kinds on both workers.
    const receivers: ResumingListener[] = [];
    for (const kind of ["sio", "ws"] as const) {
      const workers = new Set<string>();
      for (let i = 0; i < 10 && workers.size < 2; i++) {
        const r = new ResumingListener(kind, srv.url, room);
        await r.start();
        if (workers.has(r.worker)) r.stop();
        else {
          workers.add(r.worker);
          receivers.push(r);
        }
      }
      expect(workers.size, `${kind} receivers on both workers`).to.equal(2);
    }

    // Senders: REST (new connection per request, so both workers serve) and Socket.IO on the
    // worker about to die. An unacknowledged write is retried with the same client_message_id.
    const acked = new Map<string, Msg>();
    let sending = true;
    const restSender = (async () => {
      for (let i = 0; sending; i++) {
        const cmid = `rest-${i}`;
        for (let attempt = 0; ; attempt++) {
          const res = await fetch(`${srv.url}/city/rooms/${room}/messages`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${alice}`, connection: "close" },
            body: JSON.stringify({ body: `rest ${i}`, client_message_id: cmid }),
          }).catch(() => undefined);
          if (res && (res.status === 201 || res.status === 200)) {
            acked.set(cmid, (await res.json()) as Msg);
            break;
          }
          if (attempt > 100) throw new Error(`rest ${i} never acknowledged`);
          await sleep(50);
        }
      }
    })();
    const sockSender = (async () => {
      let s: Socket | undefined;
      const connect = async () => {
        for (;;) {
          s?.close();
          s = io(`${srv.url}/city/rooms`, { transports: ["websocket"], reconnection: false, forceNew: true, auth: { token: bob } });
          const ok = await new Promise<boolean>((resolve) => {
            s!.once("connect", () => resolve(true));
            s!.once("connect_error", () => resolve(false));
          });
          if (ok) return;
          await sleep(100);
        }
      };
      await connect();
      for (let i = 0; sending; i++) {
        const cmid = `sio-${i}`;
        for (let attempt = 0; ; attempt++) {
          const ack = (await s!.timeout(2_000).emitWithAck("room.message.send", { room_id: room, body: `sio ${i}`, client_message_id: cmid }).catch(() => undefined)) as
            | { event: string; message: Msg }
            | undefined;
          if (ack?.event === "room.message.ack") {
            acked.set(cmid, ack.message);
            break;
          }
          if (attempt > 50) throw new Error(`sio ${i} never acknowledged`);
          if (!s!.connected) await connect();
        }
      }
      s?.close();
    })();

    // Traffic flows, then the kill lands in the middle of it, and traffic goes on through it.
    const ackedAtLeast = (n: number, what: string) => until(() => (acked.size >= n ? true : undefined), 30_000, what);
    await ackedAtLeast(10, "ten messages before the kill");
    const victim = before.get("1")!;
    process.kill(victim, "SIGKILL");
    // The primary forks a replacement into slot 1, and it serves, while the senders go on.
    const deadline = Date.now() + 20_000;
    let after = await workerPids(srv.process.pid!);
    while (!(after.get("1") && after.get("1") !== victim)) {
      if (Date.now() > deadline) throw new Error(`slot 1 was not replaced:\n${srv.output()}`);
      await sleep(200); // the process table has no event to wait on
      after = await workerPids(srv.process.pid!);
    }
    expect(after.get("2")).to.equal(before.get("2"));
    await waitForWorkers(srv.url, 2, 45_000); // a replacement boots slowly on a loaded machine
    await ackedAtLeast(acked.size + 10, "ten messages acknowledged with the replacement serving");
    sending = false;
    await Promise.all([restSender, sockSender]);

    // The store: every acknowledged message once, no client_message_id twice, seqs contiguous.
    const hist = await fetchAll(srv.url, room);
    const total = hist.length;
    expect(acked.size).to.be.greaterThan(10);
    expect(hist.map((m) => m.seq)).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
    const cmids = hist.map((m) => m.client_message_id);
    expect(new Set(cmids).size, "no client_message_id stored twice").to.equal(total);
    for (const [cmid, m] of acked) {
      const stored = hist.find((h) => h.client_message_id === cmid);
      expect(stored, `acknowledged ${cmid}`).to.not.equal(undefined);
      expect(stored!.id).to.equal(m.id);
    }
    expect(total).to.equal(acked.size); // nothing stored that nobody was told about, either

    // Every receiver saw every message exactly once, in order, across its reconnects.
    const lost = receivers.filter((r) => r.reconnects > 0);
    expect(lost.length, "the killed worker's clients reconnected").to.be.at.least(2);
    const want = Array.from({ length: total + 1 }, (_, i) => i + 1);
    // One more message: when every receiver has it, each has had whatever it was going to get.
    const last = await api<Msg>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: alice, body: { body: "the last one" } });
    expect(last.body.seq).to.equal(total + 1);
    for (const r of receivers) await until(() => (r.seqs.includes(total + 1) ? true : undefined), 15_000, `the last message on ${r.kind}`);
    for (const r of receivers) expect(r.seqs, `${r.kind} (reconnects ${r.reconnects})`).to.deep.equal(want);
    receivers.forEach((r) => r.stop());
  });
});

/** The whole history, oldest first, paging backwards from the latest. */
async function fetchAll(url: string, room: string): Promise<Msg[]> {
  let out: Msg[] = [];
  let before = "";
  for (;;) {
    const res = await api<Msg[]>(url, "GET", `/city/rooms/${room}/messages?limit=200${before ? `&before=${before}` : ""}`);
    out = [...res.body, ...out];
    if (res.body.length < 200) return out;
    before = res.body[0]!.id;
  }
}
