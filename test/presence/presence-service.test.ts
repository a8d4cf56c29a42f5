// The presence store against the real Redis: contract keys, transitions only, expiry, grace,
// multi-tab, rooms, batching. Every test uses its own ids and removes its keys.
import { expect } from "chai";
import type { Redis } from "ioredis";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { createPresenceService, presenceKeys, type PresenceService } from "../../src/presence/index.js";
import { REDIS_URL, eventually, ids, listenTransitions, presenceConfig, sleep } from "./support.js";

describe("presence store", function () {
  this.timeout(20_000);
  let redis: Redis;
  let id: ReturnType<typeof ids>;
  let events: Awaited<ReturnType<typeof listenTransitions>>;
  const services: PresenceService[] = [];
  const service = (overrides: Parameters<typeof presenceConfig>[0] = {}) => {
    const s = createPresenceService({ redis, config: presenceConfig(overrides) });
    services.push(s);
    return s;
  };

  before(async () => {
    redis = createRedis(REDIS_URL, "commands", "city-presence-test");
    events = await listenTransitions();
  });
  beforeEach(() => {
    id = ids(redis);
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    await id.cleanup();
  });
  after(async () => {
    await events.close();
    await closeRedis(redis);
  });

  it("sets presence:user:{id} = online with the contract's TTL on a heartbeat", async () => {
    const u = id.user();
    await service().heartbeat(u);
    expect(await redis.get(presenceKeys.user(u))).to.equal("online");
    const ttl = await redis.ttl(presenceKeys.user(u));
    expect(ttl).to.be.within(35, 40);
  });

  it("reports only the first heartbeat as a transition, and publishes it once", async () => {
    const s = service();
    const u = id.user();
    expect(await s.heartbeat(u)).to.deep.equal({ changed: true });
    for (let i = 0; i < 5; i++) expect(await s.heartbeat(u)).to.deep.equal({ changed: false });
    await eventually(() => events.of(u).length > 0);
    await sleep(100);
    expect(events.of(u).map((t) => t.status)).to.deep.equal(["online"]);
    expect((await s.statuses([u, id.user()]))[u]).to.equal("online");
    // The same new user several times in one batch: still one transition.
    const v = id.user();
    const same = await Promise.all([s.heartbeat(v), s.heartbeat(v), s.heartbeat(v)]);
    expect(same.filter((r) => r.changed)).to.have.length(1);
    await eventually(() => events.of(v).length > 0);
    await sleep(100);
    expect(events.of(v)).to.have.length(1);
  });

  it("goes offline by expiry exactly once, even with overlapping sweeps, and never while fresh", async () => {
    const s = service({ ttlSeconds: 1 });
    const [expiring, fresh] = [id.user(), id.user()];
    await Promise.all([s.heartbeat(expiring), s.heartbeat(fresh)]);
    expect((await s.sweep()).offline.map((t) => t.userId)).to.not.include(expiring);
    await sleep(700);
    await s.heartbeat(fresh);
    await sleep(500);
    const results = await Promise.all([s.sweep(), s.sweep(), service().sweep()]);
    const mine = results.flatMap((r) => r.offline).filter((t) => t.userId === expiring || t.userId === fresh);
    // Another test run's sweep may have taken it first; the channel shows each transition once.
    expect(mine.length).to.be.at.most(1);
    await eventually(() => events.of(expiring, "offline").length === 1);
    await sleep(100);
    expect(events.of(expiring, "offline")).to.have.length(1);
    expect(events.of(fresh, "offline")).to.have.length(0);
    expect(await s.statuses([expiring, fresh])).to.deep.equal({ [expiring]: "offline", [fresh]: "online" });
  });

  it("keeps a user online while one of two tabs stays open", async () => {
    const s = service({ graceMs: 200 });
    const u = id.user();
    await s.connectionOpened(u, "tab1");
    await s.connectionOpened(u, "tab2");
    await s.connectionClosed(u, "tab1");
    await sleep(400);
    await s.sweep();
    expect((await s.statuses([u]))[u]).to.equal("online");
    expect(events.of(u, "offline")).to.have.length(0);
    expect(await redis.ttl(presenceKeys.user(u))).to.be.above(30);
  });

  it("goes offline after the grace when the last tab closes", async () => {
    const s = service({ graceMs: 200 });
    const u = id.user();
    await s.connectionOpened(u, "tab1");
    await s.connectionClosed(u, "tab1");
    expect((await s.statuses([u]))[u]).to.equal("online");
    await eventually(() => events.of(u, "offline").length === 1, 2000);
    expect((await s.statuses([u]))[u]).to.equal("offline");
    await sleep(100);
    await s.sweep();
    expect(events.of(u, "offline")).to.have.length(1);
  });

  it("shows no offline for a reload within the grace, even on another worker", async () => {
    const [a, b] = [service({ graceMs: 300 }), service({ graceMs: 300 })];
    const u = id.user();
    await a.connectionOpened(u, "old");
    await a.connectionClosed(u, "old");
    await sleep(100);
    expect(await b.connectionOpened(u, "new")).to.deep.equal({ changed: false });
    await sleep(500);
    await b.sweep();
    expect(events.of(u, "offline")).to.have.length(0);
    expect((await b.statuses([u]))[u]).to.equal("online");
  });

  it("cancels the grace when a heartbeat returns", async () => {
    const s = service({ graceMs: 200 });
    const u = id.user();
    await s.connectionOpened(u, "tab");
    await s.connectionClosed(u, "tab");
    expect(await redis.pttl(presenceKeys.user(u))).to.be.at.most(200);
    expect(await s.heartbeat(u)).to.deep.equal({ changed: false });
    await sleep(400);
    await s.sweep();
    expect(events.of(u, "offline")).to.have.length(0);
    expect(await redis.ttl(presenceKeys.user(u))).to.be.within(35, 40);
  });

  it("lets the sweep finish a grace whose worker went away", async () => {
    const a = service({ graceMs: 200 });
    const u = id.user();
    await a.connectionOpened(u, "tab");
    await a.connectionClosed(u, "tab");
    await a.close(); // its grace timer is gone; the deadline is in the index
    await sleep(300);
    const { offline } = await service().sweep();
    await eventually(() => events.of(u, "offline").length === 1);
    expect(offline.filter((t) => t.userId === u).length).to.be.at.most(1);
  });

  it("keeps last_seen in Redis across service instances", async () => {
    const t0 = Date.UTC(2026, 0, 2, 3, 4, 5);
    const u = id.user();
    const first = createPresenceService({ redis, config: presenceConfig(), clock: () => t0 });
    await first.heartbeat(u);
    await first.close();
    const second = service();
    expect(await second.lastSeen([u, id.user("never")])).to.deep.equal({
      [u]: new Date(t0).toISOString(),
      [id.user("never")]: null,
    });
  });

  it("counts room members exactly, and leaves rooms when the user goes offline", async () => {
    const s = service({ ttlSeconds: 1 });
    const rooms = Array.from({ length: 50 }, (_, i) => id.room(i));
    const users = Array.from({ length: 5 }, (_, i) => id.user(i));
    for (let r = 0; r < rooms.length; r++) {
      for (let u = 0; u < r % 6; u++) await s.joinRoom(rooms[r]!, users[u]!);
    }
    expect(await s.countRooms(rooms)).to.deep.equal(rooms.map((_, r) => r % 6));
    expect(await s.joinRoom(rooms[1]!, users[0]!)).to.deep.equal({ changed: false });
    expect(await s.leaveRoom(rooms[1]!, users[0]!)).to.deep.equal({ changed: true });
    expect(await s.leaveRoom(rooms[1]!, users[0]!)).to.deep.equal({ changed: false });
    expect((await s.countRooms([rooms[1]!]))[0]).to.equal(0);

    await sleep(1200);
    await s.sweep();
    await eventually(() => events.of(users[4]!, "offline").length === 1);
    expect(events.of(users[4]!, "offline")[0]!.rooms).to.have.members([rooms[5], rooms[11], rooms[17], rooms[23], rooms[29], rooms[35], rooms[41], rooms[47]]);
    expect((await s.countRooms(rooms)).every((n) => n === 0)).to.equal(true);
  });

  it("answers countRooms for many rooms in one round trip", async () => {
    const s = service();
    const rooms = Array.from({ length: 200 }, (_, i) => id.room(i));
    await s.joinRoom(rooms[7]!, id.user());
    // Every command written separately would be one socket write each: count the writes.
    const stream = redis.stream as unknown as { write: (...a: unknown[]) => boolean };
    const write = stream.write;
    let writes = 0;
    stream.write = function (this: unknown, ...a: unknown[]) {
      writes++;
      return write.apply(this, a);
    };
    try {
      const counts = await s.countRooms(rooms);
      expect(counts[7]).to.equal(1);
      expect(counts.reduce((a, b) => a + b, 0)).to.equal(1);
    } finally {
      stream.write = write;
    }
    expect(writes).to.equal(1);
  });

  it("brings a swept user back into the rooms of sockets still open", async () => {
    const s = service({ ttlSeconds: 1 });
    const [u, room] = [id.user(), id.room()];
    await s.connectionOpened(u, "background-tab");
    await s.joinRoom(room, u);
    await sleep(1200);
    await s.sweep();
    await eventually(() => events.of(u, "offline").length === 1);
    expect(await s.countRooms([room])).to.deep.equal([0]);
    expect(await s.heartbeat(u)).to.deep.equal({ changed: true });
    expect(await s.countRooms([room])).to.deep.equal([1]);
    await eventually(() => events.of(u, "online").length === 2);
    expect(events.of(u, "online")[1]!.rooms).to.deep.equal([room]);
  });

  it("lists online users with last_seen for the bulk update", async () => {
    const s = service();
    const [a, b] = [id.user(), id.user()];
    await Promise.all([s.heartbeat(a), s.heartbeat(b)]);
    const list = await s.onlineUsers(500);
    const mine = list.filter((x) => x.user_id === a || x.user_id === b);
    expect(mine).to.have.length(2);
    for (const x of mine) {
      expect(x.status).to.equal("online");
      expect(Date.parse(x.last_seen)).to.be.closeTo(Date.now(), 5000);
    }
    expect((await s.onlineUsers(1)).length).to.equal(1);
  });

  it("batches 10,000 concurrent heartbeats into a few script calls", async () => {
    const s = service();
    const users = Array.from({ length: 10_000 }, (_, i) => id.user(i));
    const results = await Promise.all(users.map((u) => s.heartbeat(u)));
    expect(results.every((r) => r.changed)).to.equal(true);
    const stats = s.stats();
    expect(stats.heartbeats).to.equal(10_000);
    expect(stats.heartbeatBatches).to.be.at.most(25);
    let live = 0;
    for (let i = 0; i < users.length; i += 1000) live += await redis.exists(...users.slice(i, i + 1000).map(presenceKeys.user));
    expect(live).to.equal(10_000);
    const again = await Promise.all(users.map((u) => s.heartbeat(u)));
    expect(again.some((r) => r.changed)).to.equal(false);
  });
});
