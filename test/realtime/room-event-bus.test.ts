// The room-event bus: an event published by any process reaches the subscribers of every process
// once (its own at once, the others through Redis), malformed messages on the channel are ignored,
// and a process without Socket.IO (the job process) posts messages that reach every client of the
// real cluster, on both transports and both workers.
import { expect } from "chai";
import type { Redis } from "ioredis";
import { createRoomEventBus, ROOM_EVENTS_CHANNEL, type BusEvent, type RoomEventBus } from "../../src/realtime/bus/index.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { createDatabase, type Database } from "../../src/infra/db/database.js";
import { createRoomsRepo } from "../../src/rooms/rooms-repo.js";
import { createRoomsService } from "../../src/rooms/rooms-service.js";
import { createLogger } from "../../src/core/logger.js";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { SioClient, WsClient, until } from "../support/clients.js";
import { freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const logger = createLogger("fatal");

describe("room-event bus", function () {
  this.timeout(60_000);
  const connections: Redis[] = [];
  const buses: RoomEventBus[] = [];
  // A channel of this test's own: other runs on the same Redis must not reach these subscribers.
  const channel = `${ROOM_EVENTS_CHANNEL}:test:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const redis = (role: "commands" | "pubsub") => {
    const r = createRedis(REDIS_URL, role, "city-test-bus");
    connections.push(r);
    return r;
  };
  /** A process's bus and what its subscriber heard. */
  async function processBus(subscribed = true) {
    const heard: BusEvent[] = [];
    const bus = createRoomEventBus({ publisher: redis("commands"), subscriber: subscribed ? redis("pubsub") : undefined, logger, channelName: channel });
    bus.subscribe({ onEvent: (e) => heard.push(e) });
    await bus.start();
    buses.push(bus);
    return { bus, heard };
  }
  const join = (user: string): BusEvent => ({ event: "room.join", room_id: "room_city_bus", user_id: user });

  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(connections.map(closeRedis));
  });

  it("delivers each event once to the subscribers of every process, its own publisher's at once", async () => {
    const a = await processBus();
    const b = await processBus();
    const jobs = await processBus(false); // publishes only, like the job process
    a.bus.publish(join("u_from_a"));
    expect(a.heard, "the publishing process hears its own event before publish returns").to.deep.equal([join("u_from_a")]);
    b.bus.publish(join("u_from_b"));
    jobs.bus.publish(join("u_from_jobs"));
    b.bus.publish(join("u_last"));
    await until(() => (a.heard.length === 4 && b.heard.length === 4 ? true : undefined), 5_000, "four events on both");
    const users = (h: BusEvent[]) => h.map((e) => (e.event === "room.join" ? e.user_id : e.event));
    // Each once; one publisher's events in the order published (different publishers' may interleave).
    expect(users(a.heard).sort()).to.deep.equal(["u_from_a", "u_from_b", "u_from_jobs", "u_last"]);
    expect(users(b.heard).sort()).to.deep.equal(["u_from_a", "u_from_b", "u_from_jobs", "u_last"]);
    for (const h of [a.heard, b.heard]) expect(users(h).indexOf("u_from_b")).to.be.below(users(h).indexOf("u_last"));
    expect(users(b.heard)[0], "b hears its own first, at once").to.equal("u_from_b");
    expect(jobs.heard, "a publish-only bus hears only what it published").to.deep.equal([join("u_from_jobs")]);
  });

  it("ignores what is not a room event on its channel, and carries on", async () => {
    const a = await processBus();
    const raw = redis("commands");
    await raw.publish(channel, "not json");
    await raw.publish(channel, JSON.stringify({ origin: "elsewhere", event: { event: "room.message", room_id: "room_city_bus" } }));
    await raw.publish(channel, JSON.stringify({ origin: "elsewhere", event: join("u_after") }));
    await until(() => (a.heard.length ? true : undefined), 5_000, "the good event");
    expect(a.heard).to.deep.equal([join("u_after")]);
  });

  describe("from a process without Socket.IO, on the real cluster", function () {
    this.timeout(180_000);
    let srv: TestServer;
    let db: Database;
    before(async () => {
      srv = await sharedServer();
      db = createDatabase(process.env.TEST_DATABASE_URL!);
    });
    after(async () => {
      await db?.close();
    });

    it("a message posted through the rooms service of another process reaches clients of both transports on both workers", async () => {
      const room = await freshRoom(srv.url, userToken("u_bus_owner"));
      const clients: (SioClient | WsClient)[] = [];
      const workers = new Set<string>();
      try {
        while (workers.size < 2 || clients.length < 4) {
          const sio = await SioClient.connect(srv.url, "/city/rooms");
          await sio.emitAck("room.join", { room_id: room });
          const ws = await WsClient.joined(srv.url, `/v1/ws/city/rooms/${room}`, `u_bus_listener_${clients.length}`);
          clients.push(sio, ws);
          workers.add(await sio.worker()).add(await ws.worker());
        }
        // The job process's wiring: a bus with no subscriber, the rooms service publishing on it.
        const bus = createRoomEventBus({ publisher: redis("commands"), logger });
        const rooms = createRoomsService({ repo: createRoomsRepo(db), events: bus });
        const agent = { kind: "agent" as const, agentId: "ag_bus", name: undefined, admin: false as const };
        for (let i = 0; i < 3; i++) await rooms.postMessage(agent, room, { body: `from the job process ${i}`, clientMessageId: null });
        for (const c of clients) {
          const name = c instanceof WsClient ? "city.room.message" : "room.message";
          await until(() => (c.events.filter((e) => e.event === name).length >= 3 ? true : undefined), 10_000, "three messages");
          const seqs = c.events.filter((e) => e.event === name).map((e) => (e.message as { seq: number; author_agent_id: string }).seq);
          expect(seqs).to.deep.equal([1, 2, 3]);
        }
      } finally {
        clients.forEach((c) => c.close());
      }
    });
  });
});
