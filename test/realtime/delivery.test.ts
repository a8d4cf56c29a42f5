// One event path on the real cluster: Socket.IO (polling→upgrade and websocket-only) and raw-ws
// clients (both dialects) on different workers all get every message exactly once, in seq order,
// whoever sent it (REST, Socket.IO, raw ws).
import { expect } from "chai";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { SioClient, WsClient, until, type Recorded } from "../support/clients.js";
import { api, freshRoom, sentinel } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const seqs = (events: Recorded[], name = "room.message") =>
  events.filter((e) => e.event === name).map((e) => (e.message as { seq: number }).seq);

describe("realtime: delivery across workers and protocols", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;
  const alice = userToken("u_alice", { name: "Alice" });
  const bob = userToken("u_bob", { name: "Bob" });

  before(async () => {
    srv = await sharedServer();
  });

  it("puts clients of every kind on both workers", async () => {
    const clients = [
      await SioClient.connect(srv.url, "/city/rooms", { transports: ["polling", "websocket"] }),
      await SioClient.connect(srv.url, "/city/rooms", { transports: ["polling", "websocket"] }),
      await SioClient.connect(srv.url, "/city/rooms"),
      await SioClient.connect(srv.url, "/city/rooms"),
    ];
    const room = await freshRoom(srv.url, alice);
    // Connections are balanced round-robin, but other connections (polling requests) interleave:
    // open raw-ws clients until both workers have shown up, six at most.
    const ws: WsClient[] = [];
    const wsWorkers = new Set<string>();
    try {
      while (ws.length < 6 && wsWorkers.size < 2) {
        const c = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
        ws.push(c);
        wsWorkers.add(await c.worker());
      }
      const sioWorkers = new Set(await Promise.all(clients.map((c) => c.worker())));
      expect([...sioWorkers]).to.have.members(["1", "2"]);
      expect([...wsWorkers]).to.have.members(["1", "2"]);
    } finally {
      clients.forEach((c) => c.close());
      ws.forEach((c) => c.close());
    }
  });

  it("delivers every message exactly once and in order to every client, from REST, Socket.IO and raw ws", async () => {
    const room = await freshRoom(srv.url, alice);
    const sio = [
      await SioClient.connect(srv.url, "/city/rooms", { transports: ["polling", "websocket"] }),
      await SioClient.connect(srv.url, "/city/rooms", { transports: ["polling", "websocket"] }),
      await SioClient.connect(srv.url, "/city/rooms", { token: bob }),
      await SioClient.connect(srv.url, "/city/rooms", { token: bob }),
    ];
    for (const c of sio) await c.emitAck("room.join", { room_id: room });
    // Members: each hears its own path join, so the test knows it is in the room.
    const ws = [
      await WsClient.joined(srv.url, `/ws/city/rooms/${room}`, "u_alice"),
      await WsClient.joined(srv.url, `/ws/city/rooms/${room}`, "u_delivery_ws"),
      await WsClient.joined(srv.url, `/v1/ws/city/rooms/${room}`, "u_delivery_v1a"),
      await WsClient.joined(srv.url, `/v1/ws/city/rooms/${room}`, "u_delivery_v1b"),
    ];
    const workers = new Set([...(await Promise.all(sio.map((c) => c.worker()))), ...(await Promise.all(ws.map((c) => c.worker())))]);
    expect(workers.size).to.equal(2);
    try {
      const N = 15;
      const rest = Array.from({ length: N }, (_, i) =>
        api(srv.url, "POST", `/city/rooms/${room}/messages`, { token: alice, body: { body: `rest ${i}` } }).then((r) => expect(r.status).to.equal(201)),
      );
      const viaSio = Array.from({ length: N }, (_, i) => sio[2 + (i % 2)]!.emitAck("room.message.send", { room_id: room, body: `sio ${i}`, client_message_id: `sio-${i}` }));
      for (let i = 0; i < N; i++) ws[0]!.send({ event: "room.message.send", room_id: room, body: `ws ${i}`, client_message_id: `ws-${i}` });
      const acks = await Promise.all(viaSio);
      await Promise.all(rest);
      for (const a of acks) expect(a.event).to.equal("room.message.ack");
      const total = 3 * N;
      const expected = Array.from({ length: total }, (_, i) => i + 1);
      for (const c of sio) {
        await until(() => (seqs(c.events).length >= total ? true : undefined), 10_000, "all messages on socket.io");
      }
      for (const c of ws.slice(0, 2)) await until(() => (seqs(c.events).length >= total ? true : undefined), 10_000, "all messages on ws");
      for (const c of ws.slice(2)) await until(() => (seqs(c.events, "city.room.message").length >= total ? true : undefined), 10_000, "all on /v1 ws");
      // A would-be duplicate would come before one more message does.
      expected.push(await sentinel(srv.url, room, alice, [...sio, ...ws]));
      for (const c of sio) expect(seqs(c.events)).to.deep.equal(expected);
      for (const c of ws.slice(0, 2)) expect(seqs(c.events)).to.deep.equal(expected);
      for (const c of ws.slice(2)) {
        expect(seqs(c.events, "city.room.message")).to.deep.equal(expected);
        expect(c.events.some((e) => e.event === "room.message")).to.equal(false);
      }
      // The history agrees with what every client saw.
      const hist = await api<{ seq: number; body: string; text: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
      expect(hist.body.map((m) => m.seq)).to.deep.equal(expected);
      const bodies = sio[0]!.events.filter((e) => e.event === "room.message").map((e) => (e.message as { body: string }).body);
      expect(bodies).to.deep.equal(hist.body.map((m) => m.body));
      // The raw-ws sender got one ack per message.
      expect(ws[0]!.events.filter((e) => e.event === "room.message.ack")).to.have.length(N);
    } finally {
      sio.forEach((c) => c.close());
      ws.forEach((c) => c.close());
    }
  });

  it("tells the room who joined and left, with the token's user", async () => {
    const room = await freshRoom(srv.url, alice);
    const watcher = await WsClient.joined(srv.url, `/ws/city/rooms/${room}`, "u_join_watcher");
    const v1 = await WsClient.joined(srv.url, `/v1/ws/city/rooms/${room}`, "u_join_watcher_v1");
    const bobSock = await SioClient.connect(srv.url, "/city/rooms", { token: bob });
    try {
      await bobSock.emitAck("room.join", { room_id: room });
      await watcher.waitFor((e) => e.event === "room.join" && e.user_id === "u_bob", 5_000, "room.join");
      await v1.waitFor((e) => e.event === "city.room.join" && e.user_id === "u_bob", 5_000, "city.room.join");
      await bobSock.emitAck("room.leave", { room_id: room });
      await watcher.waitFor((e) => e.event === "room.leave" && e.user_id === "u_bob", 5_000, "room.leave");
      // REST join/leave speak the same events.
      expect((await api(srv.url, "POST", `/v1/city/rooms/${room}/join`, { token: alice })).status).to.equal(204);
      await watcher.waitFor((e) => e.event === "room.join" && e.user_id === "u_alice", 5_000, "REST join");
    } finally {
      watcher.close();
      v1.close();
      bobSock.close();
    }
  });

  it("handles one connection's events in the order sent: a burst right after joining follows the join, stored and delivered in order", async () => {
    const N = 6; // within a user's message burst (rate limits are on in this file)
    const room = await freshRoom(srv.url, alice);
    const watcher = await SioClient.connect(srv.url, "/city/rooms");
    await watcher.emitAck("room.join", { room_id: room });
    const senders: { id: string; close(): void; got: () => Recorded[] }[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        // Raw ws: the path join, then N sends written at once, before any answer.
        const wsId = `u_order_ws_${round}_${Math.random().toString(36).slice(2, 6)}`;
        const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: userToken(wsId) });
        for (let k = 0; k < N; k++) ws.send({ event: "room.message.send", body: `${wsId} #${k}`, client_message_id: `${wsId}-${k}` });
        senders.push({ id: wsId, close: () => ws.close(), got: () => ws.events });
        // Socket.IO: room.join, then N sends emitted without waiting for any ack.
        const sioId = `u_order_sio_${round}_${Math.random().toString(36).slice(2, 6)}`;
        const sio = await SioClient.connect(srv.url, "/city/rooms", { token: userToken(sioId) });
        sio.socket.emit("room.join", { room_id: room }, () => {});
        for (let k = 0; k < N; k++) sio.socket.emit("room.message.send", { room_id: room, body: `${sioId} #${k}`, client_message_id: `${sioId}-${k}` }, () => {});
        senders.push({ id: sioId, close: () => sio.close(), got: () => sio.events });
      }
      // The watcher, in the room from the start, hears every message once it is stored.
      await until(() => (watcher.events.filter((e) => e.event === "room.message").length >= senders.length * N ? true : undefined), 20_000, "every message");
      const stored = (await api<{ body: string; user_id: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`)).body;
      expect(stored, "every message stored").to.have.length(senders.length * N);
      for (const s of senders) {
        const bodies = Array.from({ length: N }, (_, k) => `${s.id} #${k}`);
        expect(stored.filter((m) => m.body.startsWith(`${s.id} #`)).map((m) => m.body), `${s.id}: stored order`).to.deep.equal(bodies);
        // The sender was in the room before its first message: it hears all N, in order.
        await until(() => (s.got().filter((e) => e.event === "room.message").length >= N ? true : undefined), 10_000, `${s.id}'s own messages`);
        const own = s.got().filter((e) => e.event === "room.message" && (e.message as { body: string }).body.startsWith(`${s.id} #`));
        expect(own.map((e) => (e.message as { body: string }).body), `${s.id}: delivered to itself`).to.deep.equal(bodies);
        // Others heard the join before the first message.
        const seen = watcher.events.filter((e) => (e.event === "room.join" && e.user_id === s.id) || (e.event === "room.message" && (e.message as { body: string }).body === `${s.id} #0`));
        expect(seen.map((e) => e.event), `${s.id}: join before its first message`).to.deep.equal(["room.join", "room.message"]);
      }
    } finally {
      watcher.close();
      for (const s of senders) s.close();
    }
  });
});
