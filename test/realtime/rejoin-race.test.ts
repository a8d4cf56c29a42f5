// The rejoin race of issue 13: a subscriber that rejoins with `last_message_id` while messages
// pour into the room must get every later message exactly once, whether it is alone on its worker
// (its join creates and holds the worker's stream of the room) or not.
import { expect } from "chai";
import WebSocket from "ws";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { io } from "socket.io-client";
import { SioClient, WsClient, until } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { scrape, total } from "../support/metrics.js";
import { userToken } from "../support/tokens.js";

const RATE = 150; // messages per second
const JOINS = Number(process.env.REJOIN_JOINS ?? 120); // per case
const LIVE_AFTER = 6; // live messages a joiner must see after its join before it leaves

interface Posted {
  id: string;
  seq: number;
}

/** Posts RATE messages a second into a room over REST until stopped; remembers each one's id. */
function startPoster(url: string, room: string, token: string) {
  const posted: Posted[] = [];
  let stopped = false;
  let failed: unknown;
  let n = 0;
  const waiters = new Set<() => void>();
  const timer = setInterval(() => {
    for (let k = 0; k < RATE / 50 && !stopped; k++) {
      const i = n++;
      void fetch(`${url}/city/rooms/${room}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ body: `m${i}` }),
      })
        .then(async (res) => {
          if (res.status !== 201) throw new Error(`post: ${res.status} ${await res.text()}`);
          const m = (await res.json()) as Posted;
          posted[m.seq] = m;
          for (const w of waiters) w();
        })
        .catch((err: unknown) => (failed ??= err));
    }
  }, 20);
  return {
    /** The highest seq whose POST has been answered. */
    top: () => posted.length - 1,
    byseq: (seq: number) => posted[seq],
    failed: () => failed,
    /** Resolves once a post with seq >= `seq` was answered. */
    reached(seq: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => {
          if (posted.length - 1 >= seq) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

type Poster = ReturnType<typeof startPoster>;

/** One rejoin: connect with last_message_id some messages back, wait until LIVE_AFTER messages past
 *  the join have arrived, and return every seq received. */
async function rejoin(srv: TestServer, room: string, poster: Poster, transport: "ws" | "sio"): Promise<{ mark: number; seqs: number[] }> {
  const top = poster.top();
  // A message some way back whose POST was answered (answers arrive out of order).
  let mark = Math.max(1, top - 5);
  while (!poster.byseq(mark)) mark--;
  const last = poster.byseq(mark)!;
  const seqs: number[] = [];
  let onSeq = () => {};
  const target = top + LIVE_AFTER;
  const enough = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rejoin after ${mark}: got ${seqs.length} messages, wanted up to ${target}: ${seqs.join(",")}`)), 10_000);
    onSeq = () => {
      if (seqs.length && seqs[seqs.length - 1]! >= target) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  const seen = (m: { seq: number }) => {
    seqs.push(m.seq);
    onSeq();
  };
  if (transport === "ws") {
    const ws = new WebSocket(`${srv.url.replace(/^http/, "ws")}/ws/city/rooms/${room}?last_message_id=${last.id}`);
    ws.on("message", (d) => {
      const ev = JSON.parse(String(d)) as { event: string; message?: { seq: number } };
      if (ev.event === "room.message") seen(ev.message!);
    });
    ws.on("error", () => {});
    try {
      await enough;
    } finally {
      ws.terminate();
    }
  } else {
    const s = await SioClient.connect(srv.url, "/city/rooms");
    s.socket.on("room.message", (ev: { message: { seq: number } }) => seen(ev.message));
    try {
      await s.emitAck("room.join", { room_id: room, last_message_id: last.id });
      await enough;
    } finally {
      s.close();
    }
  }
  return { mark, seqs };
}

/** Missing and repeated seqs against the expected run mark+1 … last received. */
function faults({ mark, seqs }: { mark: number; seqs: number[] }) {
  const top = Math.max(...seqs);
  const missing: number[] = [];
  const got = new Set<number>();
  const repeated = seqs.filter((s) => (got.has(s) ? true : (got.add(s), false)));
  for (let s = mark + 1; s <= top; s++) if (!got.has(s)) missing.push(s);
  const outOfOrder = seqs.some((s, i) => i > 0 && s <= seqs[i - 1]!);
  return { missing, repeated, outOfOrder };
}

describe("realtime: rejoin with last_message_id while the room is busy", function () {
  this.timeout(300_000);
  let srv: TestServer;
  const tok = userToken("u_rejoiner", { name: "Rejoiner" });

  before(async () => {
    srv = await sharedServer({ RATE_LIMIT_ENABLED: "false" });
  });

  for (const alone of [true, false]) {
    it(`misses and repeats nothing over ${JOINS} rejoins, the joiner ${alone ? "alone on its worker" : "beside other listeners"}`, async () => {
      const room = await freshRoom(srv.url, tok);
      const others: WsClient[] = [];
      if (!alone) {
        // Listeners on both workers keep the room's stream alive there.
        const workers = new Set<string>();
        while (workers.size < 2 || others.length < 6) {
          const c = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
          others.push(c);
          workers.add(await c.worker());
        }
      }
      const poster = startPoster(srv.url, room, tok);
      const bad: string[] = [];
      try {
        await poster.reached(10);
        for (let i = 0; i < JOINS; i++) {
          const r = await rejoin(srv, room, poster, i % 2 === 0 ? "ws" : "sio");
          const f = faults(r);
          if (f.missing.length || f.repeated.length || f.outOfOrder) bad.push(`${i % 2 === 0 ? "ws" : "sio"} after ${r.mark}: missing ${f.missing} repeated ${f.repeated}${f.outOfOrder ? " out of order" : ""}`);
        }
        expect(poster.failed()).to.equal(undefined);
      } finally {
        poster.stop();
        others.forEach((c) => c.close());
      }
      expect(bad, `${bad.length} of ${JOINS} rejoins went wrong`).to.deep.equal([]);
    });
  }

  it("leaves no subscription behind for connections closed while their join was in flight", async () => {
    const room = await freshRoom(srv.url, tok);
    const first = await api<{ id: string }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: tok, body: { body: "first" } });
    for (let i = 0; i < 5; i++) await api(srv.url, "POST", `/city/rooms/${room}/messages`, { token: tok, body: { body: `m${i}` } });
    const subscriptions = async () => {
      const m = await scrape(srv.url);
      return { ws: total(m, "city_room_subscriptions", { protocol: "ws" }), sio: total(m, "city_room_subscriptions", { protocol: "socket.io" }) };
    };
    // A member whose own join announces itself: the server holds its subscription from then on.
    const control = await WsClient.joined(srv.url, `/ws/city/rooms/${room}`, "u_rejoin_control");
    try {
      // The server is shared with other test files: count against what it holds now.
      const held = await subscriptions();
      const gone: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        // Raw ws: the path join (with a replay) starts at the upgrade; the client is gone at once.
        const ws = new WebSocket(`${srv.url.replace(/^http/, "ws")}/ws/city/rooms/${room}?last_message_id=${first.body.id}`);
        ws.on("error", () => {});
        gone.push(new Promise((resolve) => ws.once("close", resolve)));
        ws.once("open", () => ws.terminate());
        // Socket.IO: a join emitted, the socket closed before its answer.
        const s = io(`${srv.url}/city/rooms`, { transports: ["websocket"], reconnection: false, forceNew: true });
        gone.push(new Promise((resolve) => s.once("disconnect", resolve)));
        s.once("connect", () => {
          s.emit("room.join", i % 2 ? { room_id: room } : { room_id: room, last_message_id: first.body.id });
          s.disconnect();
        });
      }
      await Promise.all(gone);
      // What the server still holds once every join that was in flight has run out.
      await api(srv.url, "POST", `/city/rooms/${room}/messages`, { token: tok, body: { body: "after" } });
      await control.waitFor((e) => e.event === "room.message" && (e.message as { body: string }).body === "after", 5_000, "a message after");
      await until(async () => {
        const n = await subscriptions();
        return n.ws === held.ws && (n.sio || 0) === (held.sio || 0) ? true : undefined;
      }, 10_000, "only what was held before");
    } finally {
      control.close();
    }
  });
});
