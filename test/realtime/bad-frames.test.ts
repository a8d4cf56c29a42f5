// Bad input on the sockets: every bad frame gets an `error` event and the connection survives;
// anonymous clients listen but cannot send; a bad token connects only as such a listener; a flood
// is cut off; a reader that stops reading is dropped; long-polling works through the front door.
import { expect } from "chai";
import net from "node:net";
import { randomBytes } from "node:crypto";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { SioClient, WsClient, rawHttp, until } from "../support/clients.js";
import { api, freshRoom } from "../support/api.js";
import { scrape, total } from "../support/metrics.js";
import { agentToken, userToken, TEST_JWT_SECRET } from "../support/tokens.js";
import jwt from "jsonwebtoken";

describe("realtime: bad frames, auth and floods", function () {
  this.timeout(180_000); // the cluster starts slowly on a loaded 2-core machine
  let srv: TestServer;
  const tok = userToken("u_frames");
  let room: string;
  let writer = 0;

  before(async () => {
    srv = await sharedServer();
    room = await freshRoom(srv.url, tok);
  });

  it("answers each bad raw-ws frame with an error event and keeps the connection", async () => {
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: tok });
    try {
      const cases: [string | object, string][] = [
        ["not json at all", "invalid_json"],
        ["[1,2,3]", "validation_failed"],
        [{ no_event: true }, "validation_failed"],
        [{ event: "room.explode", room_id: room }, "validation_failed"],
        [{ event: "room.message.send", room_id: room }, "validation_failed"],
        [{ event: "room.message.send", room_id: room, body: 42 }, "validation_failed"],
        [{ event: "room.message.send", room_id: room, body: "   " }, "validation_failed"],
        [{ event: "room.message.send", room_id: room, body: "x".repeat(4001) }, "validation_failed"],
        [{ event: "room.join", room_id: 7 }, "validation_failed"],
        [{ event: "room.join", room_id: "room_city_does-not-exist" }, "room_not_found"],
        [{ event: "room.message.send", room_id: room, body: "y".repeat(70_000) }, "payload_too_large"],
      ];
      for (const [frame, code] of cases) {
        const start = ws.events.length;
        ws.send(frame);
        const err = await until(() => ws.events.slice(start).find((e) => e.event === "error"), 5_000, `error for ${String(frame).slice(0, 40)}`);
        expect(err.code, JSON.stringify(frame).slice(0, 80)).to.equal(code);
        expect(err.message).to.be.a("string").and.not.equal("");
      }
      expect(ws.closed).to.equal(undefined);
      ws.send({ event: "room.message.send", room_id: room, body: "still here", client_message_id: "alive-1" });
      await ws.waitFor((e) => e.event === "room.message.ack", 5_000, "ack after bad frames");
      ws.send({ type: "ping" });
      await ws.waitFor((e) => (e as { type?: string }).type === "pong", 5_000, "pong");
      ws.send({ event: "ping" });
      await ws.waitFor((e) => e.event === "pong", 5_000, "event pong");
    } finally {
      ws.close();
    }
  });

  it("answers bad Socket.IO events with an error and an error ack", async () => {
    const s = await SioClient.connect(srv.url, "/city/rooms", { token: tok, transports: ["polling"] });
    try {
      const res = await s.emitAck("room.message.send", { room_id: room, body: "" });
      expect(res).to.include({ event: "error", code: "validation_failed" });
      const unknown = await s.emitAck("room.nonsense", {});
      expect(unknown).to.include({ event: "error", code: "validation_failed" });
      await s.waitFor((e) => e.event === "error", 2_000, "error event");
      // Long-polling (no websocket at all) survives many round trips through the front door.
      for (let i = 0; i < 20; i++) expect(await s.worker()).to.be.oneOf(["1", "2"]);
      const ok = await s.emitAck("room.message.send", { room_id: room, body: "polling works", client_message_id: "poll-1" });
      expect(ok.event).to.equal("room.message.ack");
      expect(s.socket.io.engine.transport.name).to.equal("polling");
    } finally {
      s.close();
    }
  });

  it("lets anonymous clients listen but not send, and takes identity only from the token", async () => {
    const anon = await SioClient.connect(srv.url, "/city/rooms");
    const anonWs = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    try {
      await anon.emitAck("room.join", { room_id: room });
      const res = await anon.emitAck("room.message.send", { room_id: room, body: "who am I?", user_id: "u_admin" });
      expect(res).to.include({ event: "error", code: "unauthorized" });
      anonWs.send({ event: "room.message.send", room_id: room, body: "me neither" });
      await anonWs.waitFor((e) => e.event === "error" && e.code === "unauthorized", 5_000, "refusal");
      const posted = await api<{ author_user_id: string }>(srv.url, "POST", `/city/rooms/${room}/messages`, { token: tok, body: { body: "hello listeners" } });
      await anon.waitFor((e) => e.event === "room.message", 5_000, "anonymous listener gets messages");
      await anonWs.waitFor((e) => e.event === "room.message", 5_000, "anonymous ws listener gets messages");
      expect(posted.body.author_user_id).to.equal("u_frames");
      // A signed-in client cannot claim another user either.
      const me = await SioClient.connect(srv.url, "/city/rooms", { token: tok });
      try {
        const spoof = await me.emitAck("room.message.send", { room_id: room, body: "as someone else", user_id: "u_victim" });
        expect(spoof).to.include({ event: "error", code: "forbidden" });
        const history = await api<{ body: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
        expect(history.body.map((m) => m.body)).to.not.include("as someone else");
      } finally {
        me.close();
      }
    } finally {
      anon.close();
      anonWs.close();
    }
  });

  it("connects a bad token on both transports as a listener only, and says why", async () => {
    const wrong = jwt.sign({ sub: "u_x" }, "not-the-secret", { algorithm: "HS256" });
    const expired = jwt.sign({ sub: "u_x", exp: Math.floor(Date.now() / 1000) - 60 }, TEST_JWT_SECRET, { algorithm: "HS256" });
    const none = jwt.sign({ sub: "u_x" }, "", { algorithm: "none" } as jwt.SignOptions);
    for (const t of [wrong, expired, none]) {
      const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: t });
      const sio = await SioClient.connect(srv.url, "/city/rooms", { token: t });
      try {
        for (const c of [ws, sio]) {
          const err = await c.waitFor((e) => e.event === "error", 5_000, "the unauthorized error");
          expect(err.code).to.equal("unauthorized");
          expect(err.message).to.match(t === expired ? /^Token expired; connected as a listener only$/ : /token.*; connected as a listener only$/i);
        }
        ws.send({ event: "room.message.send", room_id: room, body: "stale token", client_message_id: "stale-ws" });
        await ws.waitFor((e) => e.event === "error" && e.code === "unauthorized" && !/listener only/.test(String(e.message)), 5_000, "send refused");
        const res = await sio.emitAck("room.message.send", { room_id: room, body: "stale token" });
        expect(res).to.include({ event: "error", code: "unauthorized" });
      } finally {
        ws.close();
        sio.close();
      }
    }
    const history = await api<{ body: string }[]>(srv.url, "GET", `/city/rooms/${room}/messages?limit=200`);
    expect(history.body.map((m) => m.body)).to.not.include("stale token");
  });

  it("lets an agent token post into a room over ws, as the agent", async () => {
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: agentToken("ag_helper") });
    try {
      ws.send({ event: "room.message.send", room_id: room, body: "agent speaking", client_message_id: "ag-1" });
      const ack = await ws.waitFor((e) => e.event === "room.message.ack", 5_000, "agent ack");
      expect(ack.message).to.include({ author_agent_id: "ag_helper", author_user_id: null });
    } finally {
      ws.close();
    }
  });

  it("answers every refused raw-ws upgrade with the JSON error body and its status, never a bare status line", async () => {
    const key = `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n`;
    const upgrade = (method: string, path: string, headers: string) =>
      rawHttp(srv.port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`);
    const cases: [string, Promise<string>, number, string][] = [
      ["an unknown room", upgrade("GET", "/ws/city/rooms/room_city_nowhere-at-all", `${key}Sec-WebSocket-Version: 13\r\n`), 404, "room_not_found"],
      ["an unknown path", upgrade("GET", "/v1/ws/city/elsewhere", `${key}Sec-WebSocket-Version: 13\r\n`), 404, "not_found"],
      ["no Sec-WebSocket-Key", upgrade("GET", `/ws/city/rooms/${room}`, "Sec-WebSocket-Version: 13\r\n"), 400, "validation_failed"],
      ["a bad Sec-WebSocket-Version", upgrade("GET", `/ws/city/rooms/${room}`, `${key}Sec-WebSocket-Version: 99\r\n`), 400, "validation_failed"],
      ["a POST", upgrade("POST", "/ws/city/presence", `${key}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n`), 405, "method_not_allowed"],
    ];
    for (const [what, answer, status, code] of cases) {
      const text = await answer;
      const [head = "", body = ""] = text.split("\r\n\r\n");
      expect(head, what).to.match(new RegExp(`^HTTP/1\\.1 ${status} [A-Z][a-zA-Z ]+\r\n`));
      expect(head, what).to.match(/\r\nContent-Type: application\/json\r\n/i);
      const json = JSON.parse(body) as { error: { code: string; message: string }; message: string };
      expect(json.error.code, what).to.equal(code);
      expect(json.error.message, what).to.be.a("string").and.not.equal("");
      expect(json.message, `${what}: the message at the top level too`).to.equal(json.error.message);
    }
  });

  it("answers a flood with rate_limited errors, then disconnects", async () => {
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    for (let i = 0; i < 300 && !ws.closed; i++) ws.send({ event: "room.leave", room_id: "room_city_x" + "y".repeat(i % 3) });
    await until(() => ws.closed, 5_000, "disconnect");
    expect(ws.events.some((e) => e.event === "error" && e.code === "rate_limited")).to.equal(true);
  });

  it("drops a raw-ws reader that stops reading before its buffer grows without bound", async () => {
    const slowRoom = await freshRoom(srv.url, tok);
    // A bare TCP client that completes the WebSocket handshake and then never reads again
    // (the ws client library resumes its socket by itself, so it cannot play this part).
    const sock = await rawUpgrade(`/ws/city/rooms/${slowRoom}`);
    sock.pause();
    // A reader that never reads cannot see the server hang up, so ask the server how many
    // readers it has dropped for being slow (the ping check would drop this one too, later).
    const before = await slowReaderDrops("ws");
    const dropped = await floodUntil(slowRoom, async () => (await slowReaderDrops("ws")) > before);
    sock.destroy();
    expect(dropped, "the server dropped the reader that stopped reading").to.equal(true);
  });

  it("drops a Socket.IO reader that stops reading before its queue grows without bound", async () => {
    const slowRoom = await freshRoom(srv.url, tok);
    // Socket.IO over a bare TCP client: the engine.io WebSocket handshake, the namespace connect
    // and a room.join with an ack, read until acknowledged; then it never reads again.
    const sock = await rawUpgrade("/socket.io/?EIO=4&transport=websocket");
    let seen = "";
    sock.on("data", (d: Buffer) => (seen += d.toString("latin1")));
    const waitFor = async (text: string, what: string) => {
      for (let i = 0; i < 200 && !seen.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen, what).to.include(text);
    };
    sock.write(maskedText("40/city/rooms,"));
    await waitFor("40/city/rooms,{", "namespace connected");
    sock.write(maskedText(`42/city/rooms,0["room.join",{"room_id":"${slowRoom}"}]`));
    await waitFor("43/city/rooms,0", "room.join acknowledged");
    sock.pause();
    const before = await slowReaderDrops("socket.io");
    const dropped = await floodUntil(slowRoom, async () => (await slowReaderDrops("socket.io")) > before);
    sock.destroy();
    expect(dropped, "the server dropped the Socket.IO reader that stopped reading").to.equal(true);
  });

  /** A TCP connection upgraded to WebSocket at `path` (the 101 read), for clients that misbehave. */
  async function rawUpgrade(path: string): Promise<net.Socket> {
    const { port } = new URL(srv.url);
    const sock = net.connect(Number(port), "127.0.0.1");
    sock.on("error", () => {});
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await new Promise<string>((r) => sock.once("data", (d: Buffer) => r(d.toString("latin1"))));
    expect(head).to.match(/^HTTP\/1\.1 101/);
    return sock;
  }

  /** A client-to-server text frame (clients must mask). */
  function maskedText(text: string): Buffer {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    return Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
  }

  /**
   * Posts 4,000-character messages into `room` until `done()` says so or two minutes pass.
   * Loopback TCP buffers hold several MB before a server's own buffer grows at all. Writers are
   * many users so the per-user limit does not slow this down; a 429 of the per-IP limit only
   * means "wait a moment".
   */
  async function floodUntil(room: string, done: () => Promise<boolean>): Promise<boolean> {
    const big = "z".repeat(4_000);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const posts = await Promise.all(
        Array.from({ length: 40 }, () => api(srv.url, "POST", `/city/rooms/${room}/messages`, { token: userToken(`u_w${writer++}`), body: { body: big } })),
      );
      expect(posts.map((p) => p.status).filter((s) => s !== 201 && s !== 429)).to.deep.equal([]);
      if (posts.some((p) => p.status === 429)) await new Promise((r) => setTimeout(r, 250));
      if (await done()) return true;
    }
    return false;
  }

  /** Slow readers the cluster has dropped so far, by protocol (from /metrics). */
  async function slowReaderDrops(protocol: "ws" | "socket.io"): Promise<number> {
    // No series until the first drop: none counts as 0.
    return total(await scrape(srv.url), "city_connections_dropped_total", { protocol, reason: "slow_reader" }) || 0;
  }
});
