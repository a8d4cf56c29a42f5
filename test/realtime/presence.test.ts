// Presence on the real cluster: heartbeats over Socket.IO and raw ws on different workers,
// transitions only, expiry through the BullMQ sweep, tabs and reloads, exact room counts.
import { expect } from "chai";
import { Redis } from "ioredis";
import { startServer, type TestServer } from "../support/server.js";
import { SioClient, WsClient, type Recorded } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const uid = (p: string) => `u_${p}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const updates = (events: Recorded[], userId: string, name = "presence.update") => events.filter((e) => e.event === name && e.user_id === userId).map((e) => e.status);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("realtime: presence", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0"); // the server's Redis
  // Short TTL, sweep and grace so expiry is observable in a test; the contract's 40 s TTL is
  // checked by the presence store's own tests.
  const TTL = 3;
  const SWEEP_MS = 500;
  const GRACE_MS = 1_000;

  before(async () => {
    srv = await startServer({ PRESENCE_TTL_SECONDS: String(TTL), PRESENCE_SWEEP_INTERVAL_MS: String(SWEEP_MS), PRESENCE_GRACE_MS: String(GRACE_MS) });
  });
  after(async () => {
    await srv?.stop();
    redis.disconnect();
  });

  it("sets the contract key with its TTL and tells others on another worker and protocol once", async () => {
    const alice = uid("alice");
    const watchers = [await SioClient.connect(srv.url, "/city/presence"), await SioClient.connect(srv.url, "/city/presence")];
    const wsWatchers = [await WsClient.connect(srv.url, "/ws/city/presence"), await WsClient.connect(srv.url, "/v1/ws/city/presence")];
    const me = await WsClient.connect(srv.url, "/ws/city/presence", { token: userToken(alice) });
    try {
      const workers = new Set([await me.worker(), ...(await Promise.all(watchers.map((w) => w.worker())))]);
      expect(workers.size).to.equal(2);
      me.send({ event: "presence.heartbeat", user_id: alice });
      for (const w of [...watchers, ...wsWatchers]) await w.waitFor((e) => e.event === "presence.update" && e.user_id === alice, 5_000, "online");
      expect(await redis.get(`presence:user:${alice}`)).to.equal("online");
      const ttl = await redis.ttl(`presence:user:${alice}`);
      expect(ttl).to.be.within(TTL - 2, TTL);
      // Five more heartbeats, from a second tab whose acks say each was stored; then another user
      // comes online. Transitions travel on one channel in order: once every watcher has that
      // user's update, an update for alice that the heartbeats wrongly caused would have come too.
      const tab = await SioClient.connect(srv.url, "/city/presence", { token: userToken(alice) });
      try {
        for (let i = 0; i < 5; i++) expect(await tab.emitAck("presence.heartbeat", { user_id: alice })).to.include({ status: "online" });
      } finally {
        tab.close();
      }
      const witness = uid("witness");
      const other = await WsClient.connect(srv.url, "/ws/city/presence", { token: userToken(witness) });
      other.send({ event: "presence.heartbeat" });
      for (const w of [...watchers, ...wsWatchers]) await w.waitFor((e) => e.event === "presence.update" && e.user_id === witness, 5_000, "the witness online");
      other.close();
      for (const w of [...watchers, ...wsWatchers]) expect(updates(w.events, alice)).to.deep.equal(["online"]);
      const update = watchers[0]!.events.find((e) => e.event === "presence.update" && e.user_id === alice)!;
      expect(update.last_seen).to.be.a("string");
      const status = await api<Record<string, string>>(srv.url, "GET", `/city/presence?user_ids=${alice},u_nobody_here`);
      expect(status.body).to.deep.equal({ [alice]: "online", u_nobody_here: "offline" });
    } finally {
      [...watchers, ...wsWatchers, me].forEach((c) => c.close());
    }
  });

  it("refuses a heartbeat for another user, and anonymous heartbeats", async () => {
    const bob = uid("bob");
    const sock = await SioClient.connect(srv.url, "/city/presence", { token: userToken(bob) });
    const anon = await WsClient.connect(srv.url, "/ws/city/presence");
    try {
      const res = await sock.emitAck("presence.heartbeat", { user_id: "u_someone_else" });
      expect(res).to.include({ event: "error", code: "forbidden" });
      anon.send({ event: "presence.heartbeat", user_id: bob });
      await anon.waitFor((e) => e.event === "error" && e.code === "unauthorized", 5_000, "refusal");
      expect(sock.socket.connected).to.equal(true);
      expect(anon.closed).to.equal(undefined);
    } finally {
      sock.close();
      anon.close();
    }
  });

  it("sends a bulk update of online users on connect", async () => {
    const carol = uid("carol");
    const me = await SioClient.connect(srv.url, "/city/presence", { token: userToken(carol) });
    try {
      await me.emitAck("presence.heartbeat", { user_id: carol });
      const other = await WsClient.connect(srv.url, "/v1/ws/city/presence");
      try {
        const bulk = await other.waitFor((e) => e.event === "presence.bulk_update", 5_000, "bulk update");
        const users = bulk.users as { user_id: string; status: string; last_seen: string }[];
        expect(users.find((u) => u.user_id === carol)).to.include({ status: "online" });
      } finally {
        other.close();
      }
    } finally {
      me.close();
    }
  });

  it("goes offline when heartbeats stop, within TTL + one sweep interval", async () => {
    const dave = uid("dave");
    const watcher = await SioClient.connect(srv.url, "/city/presence");
    try {
      // An anonymous-free way to heartbeat without holding a connection open: REST join counts.
      const room = await freshRoom(srv.url, userToken(dave));
      expect((await api(srv.url, "POST", `/city/rooms/${room}/join`, { token: userToken(dave) })).status).to.equal(204);
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === dave && e.status === "online", 5_000, "online");
      const t0 = Date.now();
      // Never offline while the key is fresh; offline once it expires and a sweep runs (the bound
      // is TTL + one sweep interval; the slack is for a loaded machine's scheduling, not design).
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === dave && e.status === "offline", (TTL + 20) * 1000, "offline");
      const waited = Date.now() - t0;
      expect(waited).to.be.above((TTL - 1) * 1000);
      expect(waited).to.be.below((TTL + 15) * 1000 + SWEEP_MS);
      expect(updates(watcher.events, dave)).to.deep.equal(["online", "offline"]);
      const detail = await api<{ members_online: number }>(srv.url, "GET", `/city/rooms/${room}`);
      expect(detail.body.members_online).to.equal(0);
    } finally {
      watcher.close();
    }
  });

  it("keeps a user with two tabs online until the last closes, and a reload within the grace shows no offline", async () => {
    const erin = uid("erin");
    const tok = userToken(erin);
    const watcher = await WsClient.connect(srv.url, "/ws/city/presence");
    const tab1 = await SioClient.connect(srv.url, "/city/presence", { token: tok });
    const tab2 = await WsClient.connect(srv.url, "/ws/city/presence", { token: tok });
    const beat = setInterval(() => {
      if (tab1.socket.connected) tab1.socket.emit("presence.heartbeat", { user_id: erin });
    }, 1_000);
    try {
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === erin, 5_000, "online");
      tab2.close();
      await sleep(GRACE_MS + 800);
      expect(updates(watcher.events, erin)).to.deep.equal(["online"]);
      // Reload: the last tab closes and a new one opens at once (maybe on the other worker).
      clearInterval(beat);
      tab1.close();
      const tab3 = await WsClient.connect(srv.url, "/ws/city/presence", { token: tok });
      tab3.send({ event: "presence.heartbeat", user_id: erin });
      await sleep(GRACE_MS + 800);
      expect(updates(watcher.events, erin)).to.deep.equal(["online"]);
      tab3.close();
      await watcher.waitFor((e) => e.event === "presence.update" && e.user_id === erin && e.status === "offline", GRACE_MS + 3_000, "offline after the grace");
    } finally {
      clearInterval(beat);
      watcher.close();
    }
  });

  it("counts room members exactly with members on different workers, and tells the room", async () => {
    const room = await freshRoom(srv.url, userToken(uid("owner")));
    const users = [uid("m1"), uid("m2"), uid("m3")];
    const listener = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    const socks = await Promise.all(users.map((u) => SioClient.connect(srv.url, "/city/rooms", { token: userToken(u) })));
    try {
      expect(new Set(await Promise.all(socks.map((s) => s.worker()))).size).to.equal(2);
      for (const s of socks) await s.emitAck("room.join", { room_id: room });
      // A second tab of the first user changes nothing.
      const again = await WsClient.joined(srv.url, `/ws/city/rooms/${room}`, users[0]!); // its join is confirmed to it alone
      const list = await api<{ id: string; members_online: number }[]>(srv.url, "GET", `/city/rooms?limit=200`);
      expect(list.body.find((r) => r.id === room)!.members_online).to.equal(3);
      const detail = await api<{ members_online: number; room: { members_online: number } }>(srv.url, "GET", `/city/rooms/${room}`);
      expect(detail.body.members_online).to.equal(3);
      expect(listener.events.filter((e) => e.event === "room.join").map((e) => e.user_id)).to.have.members(users);
      await socks[1]!.emitAck("room.leave", { room_id: room });
      await listener.waitFor((e) => e.event === "room.leave" && e.user_id === users[1], 5_000, "leave");
      const after = await api<{ members_online: number }>(srv.url, "GET", `/city/rooms/${room}`);
      expect(after.body.members_online).to.equal(2);
      again.close();
    } finally {
      listener.close();
      socks.forEach((s) => s.close());
    }
  });
});
