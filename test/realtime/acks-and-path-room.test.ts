// Two promises of the realtime protocol (CONTRACT §7, §10):
// - every Socket.IO ack is answered, also for an event the per-connection flood guard refuses (the
//   ack carries the same rate_limited error that is sent as an `error` event), so a client using
//   emitWithAck never waits for its own timeout;
// - on a raw-ws connection opened on a room path (`/ws/city/rooms/{room_id}` and `/v1/...`), a room
//   event without `room_id` is about the path's room: the Next.js client's `{event:
//   "room.message.send", data: {body}}` is stored there and acknowledged. `room_id` may also come
//   inside `data`. Socket.IO has no path room: there `room_id` stays required.
import { expect } from "chai";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { SioClient, WsClient, until, type Recorded } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";

const run = Math.random().toString(36).slice(2, 8);

describe("realtime: flood-guard acks and the path room", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;
  const alice = userToken(`u_acks_${run}`, { name: "Alice" });

  before(async () => {
    // Many sends from one user in a few seconds: this file tests the protocol, not the limiter.
    srv = await sharedServer({ RATE_LIMIT_ENABLED: "false" });
  });

  const history = async (room: string) => (await api<{ id: string; body: string; room_id: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`)).body;

  describe("Socket.IO acks under the flood guard", () => {
    /** Emits `n` events at once, each with an ack and a client-side timeout. */
    async function flood(c: SioClient, n: number, event: string, payload: object): Promise<Recorded[]> {
      return Promise.all(Array.from({ length: n }, () => c.socket.timeout(15_000).emitWithAck(event, payload) as Promise<Recorded>));
    }

    it("answers every room.join ack, the refused ones with rate_limited, and still sends the error event", async () => {
      const room = await freshRoom(srv.url, alice);
      const c = await SioClient.connect(srv.url, "/city/rooms", { token: alice });
      try {
        // The guard lets a burst of 40 through (20/s after that); 70 at once overflow it without
        // reaching the disconnect threshold (40 refusals beyond what a refill forgives).
        const acks = await flood(c, 70, "room.join", { room_id: room });
        expect(acks).to.have.length(70);
        const refused = acks.filter((a) => a.event === "error");
        const joined = acks.filter((a) => a.event === "room.join");
        expect(refused.length + joined.length, JSON.stringify(acks.find((a) => a.event !== "error" && a.event !== "room.join"))).to.equal(70);
        expect(joined.length).to.be.at.least(40);
        expect(refused.length).to.be.at.least(1);
        for (const r of refused) expect(r).to.deep.equal({ event: "error", code: "rate_limited", message: "Too many events; slow down", ref: "room.join" });
        for (const j of joined) expect(j).to.include({ room_id: room, user_id: `u_acks_${run}` });
        // The error event is still sent, once per refusal.
        await until(() => (c.events.filter((e) => e.event === "error").length >= refused.length ? true : undefined), 5_000, "the error events");
        expect(c.events.filter((e) => e.event === "error" && e.code === "rate_limited")).to.have.length(refused.length);
        expect(c.socket.connected).to.equal(true);
      } finally {
        c.close();
      }
    });

    it("answers every presence.heartbeat ack the same way", async () => {
      const c = await SioClient.connect(srv.url, "/city/presence", { token: alice });
      try {
        const acks = await flood(c, 70, "presence.heartbeat", {});
        const refused = acks.filter((a) => a.event === "error");
        expect(acks.filter((a) => a.event === "presence.heartbeat").length + refused.length).to.equal(70);
        expect(refused.length).to.be.at.least(1);
        for (const r of refused) expect(r).to.include({ event: "error", code: "rate_limited", ref: "presence.heartbeat" });
      } finally {
        c.close();
      }
    });
  });

  describe("the raw-ws path room", () => {
    for (const [dialect, prefix, ev] of [
      ["contract", "", (n: string) => n],
      ["/v1", "/v1", (n: string) => `city.${n}`],
    ] as const) {
      it(`stores a {event, data: {body}} send without room_id in the path's room and acknowledges it (${dialect})`, async () => {
        const room = await freshRoom(srv.url, alice);
        const other = await freshRoom(srv.url, alice);
        const ws = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${room}`, { token: alice });
        try {
          await ws.waitFor((e) => e.event === ev("room.join"), 5_000, "the path join");
          const ack = async (cmid: string) => (await ws.waitFor((e) => e.event === ev("room.message.ack") && e.client_message_id === cmid, 5_000, `ack ${cmid}`)).message as { id: string; room_id: string; body: string; seq: number };

          // The Next.js client: everything inside data, no room_id anywhere (both event spellings on /v1).
          ws.send({ event: "room.message.send", data: { body: "next.js says hi", client_message_id: `next-${run}-1` } });
          const first = await ack(`next-${run}-1`);
          expect(first).to.include({ room_id: room, body: "next.js says hi" });
          ws.send({ event: ev("room.message.send"), data: { body: "next.js again", client_message_id: `next-${run}-2` } });
          expect(await ack(`next-${run}-2`)).to.include({ room_id: room, body: "next.js again" });
          // A flat send without room_id, and the live broadcast of what it sent.
          ws.send({ event: "room.message.send", body: "flat, no room", client_message_id: `next-${run}-3` });
          expect(await ack(`next-${run}-3`)).to.include({ room_id: room });
          await ws.waitFor((e) => e.event === ev("room.message") && (e.message as { id: string }).id === first.id, 5_000, "the broadcast");
          // room_id inside data names another room; a top-level one wins over it.
          ws.send({ event: "room.message.send", data: { room_id: other, body: "to the other room", client_message_id: `next-${run}-4` } });
          expect(await ack(`next-${run}-4`)).to.include({ room_id: other });
          ws.send({ event: "room.message.send", room_id: room, data: { room_id: other, body: "top level wins", client_message_id: `next-${run}-5` } });
          expect(await ack(`next-${run}-5`)).to.include({ room_id: room });
          // A refused send in data still names its client_message_id as the error's ref.
          ws.send({ event: "room.message.send", data: { body: "   ", client_message_id: `next-${run}-6` } });
          const err = await ws.waitFor((e) => e.event === "error" && e.ref === `next-${run}-6`, 5_000, "the refusal");
          expect(err).to.include({ code: "validation_failed" });
          // A client_message_id inside data obeys the same rules as at the top level.
          ws.send({ event: "room.message.send", data: { body: "spaced key", client_message_id: `next ${run} 7` } });
          const badKey = await ws.waitFor((e) => e.event === "error" && e.ref === `next ${run} 7`, 5_000, "the key refusal");
          expect(badKey).to.include({ code: "validation_failed" });
          expect(String(badKey.message)).to.match(/client_message_id/);

          expect((await history(room)).map((m) => m.body)).to.deep.equal(["next.js says hi", "next.js again", "flat, no room", "top level wins"]);
          expect((await history(other)).map((m) => m.body)).to.deep.equal(["to the other room"]);
        } finally {
          ws.close();
        }
      });

      it(`leaves and rejoins the path's room on room.leave / room.join without room_id (${dialect})`, async () => {
        const room = await freshRoom(srv.url, alice);
        const bob = userToken(`u_acks_bob_${run}_${prefix ? "v1" : "c"}`);
        const watcher = await SioClient.connect(srv.url, "/city/rooms");
        const ws = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${room}`, { token: bob });
        try {
          await watcher.emitAck("room.join", { room_id: room });
          await ws.waitFor((e) => e.event === ev("room.join"), 5_000, "the path join");
          const bobId = `u_acks_bob_${run}_${prefix ? "v1" : "c"}`;
          ws.send({ event: ev("room.leave") });
          await watcher.waitFor((e) => e.event === "room.leave" && e.user_id === bobId, 5_000, "bob leaving");
          // No longer subscribed: a message posted now does not reach it.
          const posted = await api<{ id: string }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: alice, body: { body: "while away" } });
          await watcher.waitFor((e) => e.event === "room.message" && (e.message as { id: string }).id === posted.body.id, 5_000, "the watcher's copy");
          const mark = watcher.events.length;
          const ownJoins = () => ws.events.filter((e) => e.event === ev("room.join") && e.user_id === bobId).length;
          expect(ownJoins()).to.equal(1);
          ws.send({ event: "room.join", data: {} });
          await until(() => watcher.events.slice(mark).find((e) => e.event === "room.join" && e.user_id === bobId), 5_000, "bob back");
          await until(() => (ownJoins() === 2 ? true : undefined), 5_000, "bob's own rejoin");
          expect(ws.events.some((e) => e.event === ev("room.message") && (e.message as { id: string }).id === posted.body.id)).to.equal(false);
          expect(ws.events.filter((e) => e.event === "error")).to.deep.equal([]);
        } finally {
          watcher.close();
          ws.close();
        }
      });

      it(`confirms the join to a second tab of a member, whose join is not news to the room (${dialect})`, async () => {
        const room = await freshRoom(srv.url, alice);
        const carolId = `u_acks_carol_${run}_${prefix ? "v1" : "c"}`;
        const carol = userToken(carolId);
        const first = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${room}`, { token: carol });
        const anon = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${room}`);
        try {
          await first.waitFor((e) => e.event === ev("room.join") && e.user_id === carolId, 5_000, "the first tab's join");
          const second = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${room}`, { token: carol });
          try {
            await second.waitFor((e) => e.event === ev("room.join") && e.user_id === carolId && e.room_id === room, 5_000, "the second tab's confirmation");
            // A repeated join on the same tab is confirmed too, and the room hears no news of it.
            const mark = first.events.length;
            second.send({ event: "room.join", room_id: room });
            await until(() => (second.events.filter((e) => e.event === ev("room.join")).length === 2 ? true : undefined), 5_000, "the repeated join's confirmation");
            // A message the second tab sends after it reaches the room after any news of the join would.
            second.send({ event: "room.message.send", body: "after the repeated join", client_message_id: `after-${carolId}` });
            await first.waitFor((e) => e.event === ev("room.message") && (e.message as { body: string }).body === "after the repeated join", 5_000, "the message after");
            expect(first.events.slice(mark).filter((e) => e.event === ev("room.join"))).to.deep.equal([]);
          } finally {
            second.close();
          }
          // An anonymous listener's own path join is not echoed as a join without a user.
          expect(anon.events.filter((e) => e.event === ev("room.join") && e.user_id == null)).to.deep.equal([]);
        } finally {
          first.close();
          anon.close();
        }
      });
    }
  });

  describe("Socket.IO has no path room", () => {
    it("still requires room_id, and takes it from data too", async () => {
      const room = await freshRoom(srv.url, alice);
      const c = await SioClient.connect(srv.url, "/city/rooms", { token: alice });
      try {
        const missing = await c.emitAck("room.message.send", { data: { body: "where to?" } });
        expect(missing).to.include({ event: "error", code: "validation_failed" });
        expect(String(missing.message)).to.match(/^room_id: /);
        const nested = await c.emitAck("room.message.send", { data: { room_id: room, body: "nested room", client_message_id: `sio-${run}-1` } });
        expect(nested.event).to.equal("room.message.ack");
        expect(nested).to.include({ client_message_id: `sio-${run}-1` });
        expect((nested.message as { room_id: string }).room_id).to.equal(room);
        expect((await history(room)).map((m) => m.body)).to.deep.equal(["nested room"]);
      } finally {
        c.close();
      }
    });
  });
});
