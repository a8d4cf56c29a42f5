// Hostile JWTs on every door: REST (reads and writes), Socket.IO (auth, ?token=, Authorization) and
// raw ws (?token=, Authorization), on a server that trusts an HS256 secret and an RS256 public key.
// Malformed, expired, not-yet-valid, `alg: none`, HS/RS-confused (HMAC keyed with the public key),
// wrong-secret, wrong-key, tampered and subject-less tokens, an `agent_id` that is not `ag_*`, and
// the literal `null` / `undefined` a front end sends when it has no token never give an identity
// (CONTRACT §3):
// - REST writes and /secondme answer 401 unauthorized with a clear message and write nothing;
// - public reads (GET /city/...) answer as for no token, with `WWW-Authenticate: Bearer
//   error="invalid_token"`;
// - Socket.IO and raw ws connect as anonymous listeners, are told why in one `error` event
//   (code unauthorized, "…; connected as a listener only"), hear room broadcasts, cannot send or
//   heartbeat, and never count as online.
// A genuine RS256 token is accepted everywhere.
import crypto from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { io } from "socket.io-client";
import { startServer, type TestServer } from "../support/server.js";
import { SioClient, WsClient, type Recorded } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { TEST_JWT_SECRET, agentToken, userToken } from "../support/tokens.js";
import { rowCounts } from "../faults/support.js";
import { badTokens } from "./fuzz.js";

const pair = () => crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
const CHALLENGE = 'Bearer error="invalid_token"';
const LISTENER_ONLY = /; connected as a listener only$/;

type Outcome = { ok: true; events: Recorded[] } | { ok: false; data: unknown; message: string };

/** Connects and collects what the server says first: until an `error` event (and a little
 *  longer, to see a second one) or, without one, for `settleMs`. */
function sioConnect(url: string, nsp: string, how: "auth" | "query" | "header", token: string, settleMs = 0): Promise<Outcome> {
  const s = io(`${url}${nsp}`, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    auth: how === "auth" ? { token } : {},
    query: how === "query" ? { token } : {},
    extraHeaders: how === "header" ? { authorization: `Bearer ${token}` } : {},
  });
  const events: Recorded[] = [];
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        s.close();
        resolve({ ok: true, events });
      }, ms);
    };
    s.onAny((event: string, payload: unknown) => {
      events.push({ ...(payload as object), event });
      if (event === "error" && s.connected) done(30);
    });
    s.once("connect", () => {
      if (!events.some((e) => e.event === "error")) done(settleMs);
    });
    s.once("connect_error", (err: Error & { data?: unknown }) => {
      s.close();
      resolve({ ok: false, data: err.data, message: err.message });
    });
  });
}

/** The one `error` event a refused token gets, checked for shape and message. */
function expectListenerOnly(events: Recorded[], name: string, what: string): void {
  const errors = events.filter((e) => e.event === "error");
  expect(errors, `${what}: exactly one error event`).to.have.length(1);
  expect(errors[0]!.code, what).to.equal("unauthorized");
  expect(errors[0]!.message, what).to.match(LISTENER_ONLY);
  expect(errors[0]!.message, what).to.match(name === "expired" ? /^Token expired;/ : /token|agent_id/i);
}

describe("hostile: tokens on REST and both socket transports", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const trusted = pair();
  const stranger = pair();
  const now = Math.floor(Date.now() / 1000);
  const bad: Record<string, string> = {
    ...badTokens({ rsaPublic: trusted.publicKey, strangerPrivate: stranger.privateKey }),
    literal_null: "null",
    literal_undefined: "undefined",
    agent_not_ag: agentToken("not_an_agent"),
  };
  const good = jwt.sign({ sub: `u_rs_${run}` }, trusted.privateKey, { algorithm: "RS256", expiresIn: "1h" });
  const writer = userToken(`u_tok_${run}`);
  /** Expired, for a user of its own: it must never show as online. */
  const stale = `u_stale_${run}`;
  const expired = jwt.sign({ sub: stale, exp: now - 3600 }, TEST_JWT_SECRET, { algorithm: "HS256" });
  let srv: TestServer;
  let room: string;

  before(async () => {
    srv = await startServer({
      JWT_PUBLIC_KEY: trusted.publicKey.replace(/\n/g, "\\n"),
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
    });
    room = await freshRoom(srv.url, writer, "tok");
  });
  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
  });

  it("a genuine RS256 token works on every door (the key pair is really trusted)", async () => {
    const post = await fetch(`${srv.url}/city/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${good}`, "content-type": "application/json" },
      body: JSON.stringify({ body: "signed with RS256" }),
    });
    expect(post.status).to.equal(201);
    const read = await fetch(`${srv.url}/city/rooms`, { headers: { authorization: `Bearer ${good}` } });
    expect(read.status).to.equal(200);
    expect(read.headers.get("www-authenticate")).to.equal(null);
    for (const how of ["auth", "query", "header"] as const) {
      const r = await sioConnect(srv.url, "/city/rooms", how, good, 200);
      expect(r.ok, how).to.equal(true);
      if (r.ok) expect(r.events.filter((e) => e.event === "error"), how).to.deep.equal([]);
    }
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: good });
    await ws.waitFor((e) => e.event === "room.join" && e.user_id === `u_rs_${run}`, 5_000, "joined as the RS256 user");
    expect(ws.events.filter((e) => e.event === "error")).to.deep.equal([]);
    ws.close();
  });

  it("REST: a bad token is refused with 401 on writes and /secondme, and ignored on public reads", async () => {
    const before = await rowCounts(process.env.TEST_DATABASE_URL!);
    const reads = [`/city/rooms`, `/v1/city/rooms/${room}`, `/api/city/rooms/${room}/messages`, "/city/feed", `/v1/city/presence?user_ids=${stale}`];
    for (const [name, token] of Object.entries(bad)) {
      for (const path of reads) {
        const res = await fetch(srv.url + path, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status, `${name} GET ${path}: ${await res.clone().text()}`).to.equal(200);
        expect(res.headers.get("www-authenticate"), `${name} GET ${path}`).to.equal(CHALLENGE);
        await res.arrayBuffer();
      }
      for (const [method, path, body] of [
        ["POST", `/city/rooms/${room}/messages`, { body: `forged by ${name}` }],
        ["POST", `/v1/city/rooms/${room}/join`, undefined],
        ["POST", "/api/city/rooms", { name: `forged ${name}`, slug: `forged-${run}-${name.replace(/_/g, "-")}` }],
        ["POST", "/secondme/invoke", { prompt: "whose history?" }],
        ["GET", "/secondme/history", undefined],
        ["GET", "/v1/secondme/profile", undefined],
      ] as const) {
        const res = await fetch(srv.url + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const json = (await res.json()) as { error: { code: string; message: string } };
        expect([res.status, json.error.code], `${name} ${method} ${path}`).to.deep.equal([401, "unauthorized"]);
        expect(json.error.message, `${name} ${method} ${path}`).to.match(name === "expired" ? /^Token expired$/ : /token|authoriz/i);
        expect(res.headers.get("www-authenticate"), `${name} ${method} ${path}`).to.equal(CHALLENGE);
      }
    }
    expect(await rowCounts(process.env.TEST_DATABASE_URL!)).to.deep.equal(before);
  });

  it("REST: an expired token reads public data like no token, and cannot write", async () => {
    const anon = await api<unknown>(srv.url, "GET", `/city/rooms/${room}`);
    const res = await api<unknown>(srv.url, "GET", `/city/rooms/${room}`, { token: expired });
    expect(res.status).to.equal(200);
    expect(res.headers.get("www-authenticate")).to.equal(CHALLENGE);
    expect(res.body).to.deep.equal(anon.body);
    expect(anon.headers.get("www-authenticate")).to.equal(null);
    const post = await api<{ error: { code: string; message: string } }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: expired, body: { body: "too late" } });
    expect(post.status).to.equal(401);
    expect(post.body.error).to.deep.equal({ code: "unauthorized", message: "Token expired" });
  });

  it("REST: an agent_id that is not ag_* makes the token invalid, and a user token with a real agent_id stays an agent's", async () => {
    const post = await api<{ error: { code: string; message: string } }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: agentToken("not_an_agent"), body: { body: "who am I?" } });
    expect(post.status).to.equal(401);
    expect(post.body.error.code).to.equal("unauthorized");
    expect(post.body.error.message).to.match(/agent_id/);
    const both = await api<{ author_agent_id: string | null; author_user_id: string | null }>(srv.url, "POST", `/city/rooms/${room}/messages`, {
      token: userToken(`u_both_${run}`, { agent_id: `ag_both_${run}` }),
      body: { body: "an agent with a sub" },
    });
    expect(both.status).to.equal(201);
    expect(both.body).to.include({ author_agent_id: `ag_both_${run}`, author_user_id: null });
  });

  it("Socket.IO: every bad token (auth, ?token=, Authorization) connects as a listener and is told why", async () => {
    for (const [name, token] of Object.entries(bad)) {
      for (const nsp of ["/city/rooms", "/city/presence"]) {
        for (const how of ["auth", "query", "header"] as const) {
          const r = await sioConnect(srv.url, nsp, how, token, 2_000);
          expect(r.ok, `${name} ${nsp} ${how}: ${r.ok ? "" : r.message}`).to.equal(true);
          if (r.ok) expectListenerOnly(r.events, name, `${name} ${nsp} ${how}`);
        }
      }
    }
  });

  it("raw ws: every bad token (?token=, Authorization) connects as a listener and is told why, in both dialects", async () => {
    for (const [name, token] of Object.entries(bad)) {
      for (const path of [`/ws/city/rooms/${room}`, `/v1/ws/city/rooms/${room}`, "/ws/city/presence", "/v1/ws/city/presence"]) {
        for (const how of ["query", "header"] as const) {
          const what = `${name} ${path} ${how}`;
          const ws = await WsClient.connect(srv.url, path, how === "query" ? { token } : { headers: { authorization: `Bearer ${token}` } }).catch((err: { status?: number }) => {
            throw new Error(`${what}: upgrade refused with ${err.status}`);
          });
          try {
            // The reason comes first: before the room's join or the presence bulk update.
            await ws.waitFor((e) => e.event === "error", 5_000, `${what}: the error frame`);
            expect(ws.events[0]!.event, what).to.equal("error");
            expectListenerOnly(ws.events, name, what);
            expect(ws.closed, what).to.equal(undefined);
          } finally {
            ws.close();
          }
        }
      }
    }
  });

  it("Socket.IO with an expired token: hears room broadcasts, cannot send, heartbeat or count as online", async () => {
    const rooms = await SioClient.connect(srv.url, "/city/rooms", { token: expired });
    const presence = await SioClient.connect(srv.url, "/city/presence", { token: expired });
    try {
      for (const c of [rooms, presence]) {
        const err = await c.waitFor((e) => e.event === "error", 5_000, "the unauthorized error");
        expect(err).to.deep.equal({ event: "error", code: "unauthorized", message: "Token expired; connected as a listener only" });
      }
      await rooms.emitAck("room.join", { room_id: room });
      const posted = await api<{ id: string }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: writer, body: { body: `to the sio listeners ${run}` } });
      expect(posted.status).to.equal(201);
      await rooms.waitFor((e) => e.event === "room.message" && (e.message as { id: string }).id === posted.body.id, 5_000, "the broadcast");
      const send = await rooms.emitAck("room.message.send", { room_id: room, body: "stale sio", client_message_id: `stale-sio-${run}` });
      expect(send).to.include({ event: "error", code: "unauthorized" });
      const beat = await presence.emitAck("presence.heartbeat", { user_id: stale });
      expect(beat).to.include({ event: "error", code: "unauthorized" });
      const status = await api<Record<string, string>>(srv.url, "GET", `/city/presence?user_ids=${stale}`);
      expect(status.body).to.deep.equal({ [stale]: "offline" });
      expect(rooms.socket.connected && presence.socket.connected).to.equal(true);
    } finally {
      rooms.close();
      presence.close();
    }
    const history = await api<{ body: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
    expect(history.body.map((m) => m.body)).to.not.include("stale sio");
  });

  it("raw ws with an expired token, both dialects: hears room broadcasts, cannot send, heartbeat or count as online", async () => {
    const contract = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: expired });
    const v1 = await WsClient.connect(srv.url, `/v1/ws/city/rooms/${room}`, { headers: { authorization: `Bearer ${expired}` } });
    const presence = await WsClient.connect(srv.url, "/v1/ws/city/presence", { token: expired });
    try {
      for (const c of [contract, v1, presence]) {
        const err = await c.waitFor((e) => e.event === "error", 5_000, "the unauthorized error");
        expect(err).to.deep.equal({ event: "error", code: "unauthorized", message: "Token expired; connected as a listener only" });
      }
      // Joined as listeners (the path's room), anonymously: no member join is announced for them.
      const posted = await api<{ id: string }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: writer, body: { body: `to the ws listeners ${run}` } });
      expect(posted.status).to.equal(201);
      await contract.waitFor((e) => e.event === "room.message" && (e.message as { id: string }).id === posted.body.id, 5_000, "the contract broadcast");
      await v1.waitFor((e) => e.event === "city.room.message" && (e.message as { id: string }).id === posted.body.id, 5_000, "the v1 broadcast");
      for (const c of [contract, v1]) {
        c.send({ event: c === v1 ? "city.room.message.send" : "room.message.send", room_id: room, body: "stale ws", client_message_id: `stale-ws-${run}` });
        await c.waitFor((e) => e.event === "error" && e.code === "unauthorized" && !LISTENER_ONLY.test(String(e.message)), 5_000, "send refused");
        expect(c.events.some((e) => e.event === "room.message.ack")).to.equal(false);
      }
      presence.send({ event: "presence.heartbeat", user_id: stale });
      await presence.waitFor((e) => e.event === "error" && e.code === "unauthorized" && !LISTENER_ONLY.test(String(e.message)), 5_000, "heartbeat refused");
      const status = await api<Record<string, string>>(srv.url, "GET", `/city/presence?user_ids=${stale}`);
      expect(status.body).to.deep.equal({ [stale]: "offline" });
      for (const c of [contract, v1, presence]) expect(c.closed).to.equal(undefined);
    } finally {
      [contract, v1, presence].forEach((c) => c.close());
    }
    const history = await api<{ body: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
    expect(history.body.map((m) => m.body)).to.not.include("stale ws");
  });
});
