// A seeded fuzzer against every socket event on both transports (raw ws and Socket.IO, rooms and
// presence): valid events mutated, random JSON, frames that are not JSON or not UTF-8 (as binary
// frames), unknown and prototype-named events, extra arguments and binary attachments. Asserts: no
// `internal` error ever; every error is {event:"error", code, message}; every connection survives
// its bad frames; the database gained exactly the acknowledged messages; no prototype was polluted
// (a send without a body is still refused); no worker crashed. FUZZ_SEED / FUZZ_CASES as for REST.
import { expect } from "chai";
import { io, type Socket } from "socket.io-client";
import { startServer, type TestServer } from "../support/server.js";
import { WsClient, until } from "../support/clients.js";
import { freshRoom } from "../support/api.js";
import { agentToken, userToken } from "../support/tokens.js";
import { rowCounts, sleep, workerPids } from "../faults/support.js";
import { HOSTILE_IDS, Prng, RAW_BODIES, defineKey, fuzzCases, fuzzSeed, mutate, randomJson } from "./fuzz.js";

type Frame = { kind: "json"; value: unknown } | { kind: "text"; text: string } | { kind: "binary"; bytes: Buffer };
type Emit = { name: string; args: unknown[] };

interface Seen {
  errors: { code?: unknown; message?: unknown; event?: unknown }[];
  acked: Set<string>;
}

const EVENTS = ["room.join", "room.leave", "room.message.send", "city.room.message.send", "presence.heartbeat", "ping", "server.info"];
const ODD_EVENTS = ["", "room", "room.explode", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "x".repeat(300), "error", "connect", "disconnect"];

describe("hostile: socket fuzzer", function () {
  this.timeout(240_000); // thousands of cases; generous for a loaded 2-core machine
  const run = Math.random().toString(36).slice(2, 8);
  const tokens = [userToken(`u_fzw_a_${run}`), userToken(`u_fzw_b_${run}`), agentToken(`ag_fzw_${run}`), undefined];
  let srv: TestServer;
  let room: string;

  before(async function () {
    this.timeout(180_000);
    srv = await startServer({
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
      RATE_LIMIT_MESSAGES_PER_SEC: "100000",
      RATE_LIMIT_MESSAGES_BURST: "1000000",
    });
    room = await freshRoom(srv.url, tokens[0]!, "fzw");
  });
  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
  });

  /** A valid payload of an event, as a starting point for mutations. */
  function valid(r: Prng, name: string): Record<string, unknown> {
    const roomId = r.chance(0.7) ? room : r.chance(0.5) ? "room_city_general" : r.pick(HOSTILE_IDS);
    switch (name) {
      case "room.join": return { room_id: roomId };
      case "room.leave": return { room_id: roomId };
      case "room.message.send":
      case "city.room.message.send":
        return r.chance(0.2) ? { room_id: roomId, data: { body: `fz ${r.int(1e6)}` } } : { room_id: roomId, body: `fz ${r.int(1e6)}`, client_message_id: `fzw-${run}-${r.int(100)}` };
      case "presence.heartbeat": return r.chance(0.5) ? {} : { user_id: r.pick([`u_fzw_a_${run}`, "u_someone_else", ""]) };
      default: return {};
    }
  }

  function frame(r: Prng, presence: boolean): Frame {
    const roll = r.int(10);
    if (roll < 6) {
      const name = r.chance(0.85) ? (presence ? r.pick(["presence.heartbeat", "presence.heartbeat", "ping", r.pick(EVENTS)]) : r.pick(EVENTS)) : r.pick(ODD_EVENTS);
      const body = roll < 2 ? valid(r, name) : mutate(r, valid(r, name));
      if (body && typeof body === "object" && !Array.isArray(body)) {
        const o = { ...(body as Record<string, unknown>) };
        defineKey(o, "event", r.chance(0.9) ? name : randomJson(r, 1));
        if (r.chance(0.1)) defineKey(o, "type", "ping");
        return { kind: "json", value: o };
      }
      return { kind: "json", value: body };
    }
    if (roll < 8) return { kind: "json", value: randomJson(r, 4) };
    const raw = r.pick(RAW_BODIES);
    return typeof raw === "string" ? { kind: "text", text: raw } : { kind: "binary", bytes: raw };
  }

  function emit(r: Prng, presence: boolean): Emit {
    const name = r.chance(0.85) ? (presence ? r.pick(["presence.heartbeat", "presence.heartbeat", r.pick(EVENTS)]) : r.pick(EVENTS)) : r.pick(ODD_EVENTS.filter((e) => !["error", "connect", "disconnect", ""].includes(e)));
    const roll = r.int(10);
    const first = roll < 2 ? valid(r, name) : roll < 7 ? mutate(r, valid(r, name)) : roll < 9 ? randomJson(r, 4) : Buffer.from(r.pick(RAW_BODIES) as string);
    const args = [first];
    if (r.chance(0.1)) args.push(randomJson(r, 2), Buffer.from([0xff, 0x00, 0xfe]));
    return { name, args };
  }

  it("thousands of random and mutated events on both transports: errors, never internal, no crash", async () => {
    const seed = fuzzSeed("socket fuzzer");
    const r = new Prng(seed);
    const total = fuzzCases(2000);
    const PER_CONNECTION = 30; // below the flood guard's burst, so every event reaches the handlers
    const batches: { transport: "ws" | "sio"; presence: boolean; v1: boolean; token: string | undefined; items: (Frame | Emit)[] }[] = [];
    for (let done = 0; done < total; ) {
      const transport = r.chance(0.5) ? "ws" : "sio";
      const presence = r.chance(0.25);
      const token = r.pick(tokens);
      const v1 = r.chance(0.5);
      const n = Math.min(PER_CONNECTION, total - done);
      const items = Array.from({ length: n }, () => (transport === "ws" ? frame(r, presence) : emit(r, presence)));
      batches.push({ transport, presence, v1, token, items });
      done += n;
    }
    const workersBefore = await workerPids(srv.process.pid!);
    const before = await rowCounts(process.env.TEST_DATABASE_URL!);
    const seen: Seen = { errors: [], acked: new Set() };
    const failures: string[] = [];

    async function runWs(b: (typeof batches)[number], i: number): Promise<void> {
      const path = b.presence ? "/ws/city/presence" : `/ws/city/rooms/${room}`;
      const c = await WsClient.connect(srv.url, b.v1 ? `/v1${path}` : path, { token: b.token });
      for (const f of b.items as Frame[]) {
        if (f.kind === "binary") c.ws.send(f.bytes, { binary: true });
        else c.ws.send(f.kind === "text" ? f.text : JSON.stringify(f.value));
      }
      // Quiet for 500 ms after the last frame: the connection answered what it is going to.
      for (let prev = -1, waited = 0; c.events.length !== prev && waited < 15_000; waited += 500) {
        prev = c.events.length;
        await sleep(500);
      }
      for (const e of c.events) {
        if (e.event === "error") seen.errors.push(e);
        if (e.event === "room.message.ack" || e.event === "city.room.message.ack") seen.acked.add((e.message as { id: string }).id);
      }
      if (c.closed) failures.push(`ws batch ${i} closed by the server: ${JSON.stringify(c.closed)}`);
      c.close();
    }

    async function runSio(b: (typeof batches)[number], i: number): Promise<void> {
      const s: Socket = io(`${srv.url}${b.presence ? "/city/presence" : "/city/rooms"}`, {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        auth: b.token ? { token: b.token } : {},
      });
      await new Promise<void>((resolve, reject) => {
        s.once("connect", resolve);
        s.once("connect_error", reject);
      });
      s.on("error", (e: Seen["errors"][number]) => seen.errors.push(e));
      let disconnected = "";
      s.on("disconnect", (reason) => (disconnected = reason));
      await Promise.all(
        (b.items as Emit[]).map(async (e) => {
          const ack = (await s.timeout(15_000).emitWithAck(e.name, ...e.args).catch((err: Error) => ({ timeout: err.message }))) as Record<string, unknown>;
          if (ack?.event === "room.message.ack") seen.acked.add((ack.message as { id: string }).id);
        }),
      );
      if (disconnected) failures.push(`sio batch ${i} disconnected: ${disconnected}`);
      s.close();
    }

    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) {
          const i = next++;
          const b = batches[i]!;
          await (b.transport === "ws" ? runWs(b, i) : runSio(b, i)).catch((err: Error) => failures.push(`batch ${i}: ${err.message}`));
        }
      }),
    );
    const took = Date.now() - t0;

    expect(failures, `FUZZ_SEED=${seed}`).to.deep.equal([]);
    for (const e of seen.errors) {
      expect(e.code, `FUZZ_SEED=${seed}: ${JSON.stringify(e)}`).to.be.a("string").and.match(/^[a-z_]+$/).and.not.equal("internal");
      expect(e.message, JSON.stringify(e)).to.be.a("string").and.not.equal("");
    }
    expect(seen.errors.length).to.be.greaterThan(total / 4);

    // Every acknowledged message is stored (a repeated client_message_id is acked with the
    // original, so count distinct ids), each with its feed event. A few more may be stored than
    // acked: a flooding connection can be cut between the commit and its ack.
    const after = await rowCounts(process.env.TEST_DATABASE_URL!);
    const gained = after.city_room_messages - before.city_room_messages;
    expect(gained, `FUZZ_SEED=${seed}`).to.be.at.least(seen.acked.size).and.at.most(total);
    expect(after.city_feed_events - before.city_feed_events, `FUZZ_SEED=${seed}`).to.equal(gained);

    // No prototype got a `body`: a send without one is still refused, on every worker.
    for (let i = 0; i < 4; i++) {
      const c = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: tokens[0] });
      c.send({ event: "room.message.send", room_id: room, client_message_id: `probe-${i}` });
      const err = await c.waitFor((e) => e.event === "error" && e.ref === `probe-${i}`, 10_000, "probe error");
      expect(err.code).to.equal("validation_failed");
      c.close();
    }
    expect(srv.process.exitCode).to.equal(null);
    expect(await workerPids(srv.process.pid!)).to.deep.equal(workersBefore);
    console.log(`      ${total} events on ${batches.length} connections in ${took} ms; ${seen.errors.length} errors, ${seen.acked.size} messages stored`);
  });

  it("a text frame that is not UTF-8 closes only that connection (1007, as RFC 6455 asks); the server carries on", async () => {
    const c = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    // ws refuses to send invalid UTF-8 as text; write the frame by hand: FIN + text opcode, masked.
    const payload = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    const raw = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
    raw.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    await until(() => c.closed, 10_000, "close");
    expect(c.closed!.code).to.equal(1007);
    const other = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    expect(await other.worker()).to.be.oneOf(["1", "2"]);
    other.close();
  });
});

