// Hostile payloads one by one, on the real cluster: 10 MB strings, 10,000-deep nesting, bytes that
// are not UTF-8, hostile path ids (`../`, `%00`, SQL, bad escapes) on every route and prefix and on
// the WebSocket paths, malformed Socket.IO packets. Each gets a clear error and none takes a worker
// down. Then, in this very process (the server side), payloads with `__proto__` and `constructor`
// keys over REST and both sockets leave every prototype as it was.
import net from "node:net";
import { expect } from "chai";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { createApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/core/logger.js";
import { startServer, testEnv, type TestServer } from "../support/server.js";
import { WsClient, rawHttp, until } from "../support/clients.js";
import { freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";
import { rowCounts, workerPids } from "../faults/support.js";
import { HOSTILE_IDS } from "./fuzz.js";

const MB10 = "x".repeat(10 * 1024 * 1024);
const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);

async function raw(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, token?: string) {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", json: text && /json/.test(res.headers.get("content-type") ?? "") ? JSON.parse(text) : undefined, text };
}

/** A raw engine.io WebSocket speaking Socket.IO packets by hand, for frames a client library
 *  would never produce. */
async function rawSocketIo(url: string, nsp: string, token: string) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  ws.on("message", (d) => {
    const f = String(d);
    if (f === "2") ws.send("3"); // engine.io ping → pong
    frames.push(f);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  await until(() => (frames.some((f) => f.startsWith("0{")) ? true : undefined), 5_000, "engine.io open");
  ws.send(`40${nsp},${JSON.stringify({ token })}`);
  await until(() => (frames.some((f) => f.startsWith(`40${nsp},`)) ? true : undefined), 5_000, "namespace connect");
  let closed = false;
  ws.on("close", () => (closed = true));
  return { ws, frames, closed: () => closed };
}

describe("hostile: oversized, deep and malformed input on the cluster", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const tok = userToken(`u_hp_${run}`);
  let srv: TestServer;
  let room: string;
  let workersBefore: Map<string, number>;

  before(async () => {
    srv = await startServer({ BULLMQ_PREFIX: `city:test:${run}:bull`, RATE_LIMIT_PREFIX: `city:rl:test:${run}` });
    room = await freshRoom(srv.url, tok, "hp");
    workersBefore = await workerPids(srv.process.pid!);
  });
  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
  });

  it("10 MB strings: 413 on REST, a closed socket on ws (1009) and Socket.IO, nothing stored", async () => {
    const before = await rowCounts(process.env.TEST_DATABASE_URL!);
    for (const [path, body] of [
      [`/city/rooms/${room}/messages`, { body: MB10 }],
      ["/city/rooms", { name: MB10 }],
      ["/secondme/invoke", { prompt: MB10 }],
      [`/v1/city/rooms/${room}/messages`, { text: MB10 }],
    ] as const) {
      const r = await raw(srv.url, "POST", path, JSON.stringify(body), {}, tok);
      expect([r.status, r.json?.error?.code], path).to.deep.equal([413, "payload_too_large"]);
    }
    // A 100 KB request line and 64 KB of headers: answered in JSON, not reset.
    const longLine = await rawHttp(srv.port, `GET /city/rooms?x=${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longLine).to.match(/^HTTP\/1\.1 414 /).and.include('"code":"uri_too_long"');
    const bigHead = await rawHttp(srv.port, `GET /city/rooms HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(64 * 1024)}\r\n\r\n`);
    expect(bigHead).to.match(/^HTTP\/1\.1 431 /).and.include('"code":"headers_too_large"');

    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: tok });
    ws.send({ event: "room.message.send", room_id: room, body: MB10 });
    await until(() => ws.closed, 10_000, "ws close");
    expect(ws.closed!.code).to.equal(1009);

    const s = io(`${srv.url}/city/rooms`, { transports: ["websocket"], reconnection: false, forceNew: true, auth: { token: tok } });
    await new Promise<void>((r) => s.once("connect", () => r()));
    let reason = "";
    s.on("disconnect", (why) => (reason = why));
    s.emit("room.message.send", { room_id: room, body: MB10 });
    await until(() => reason || undefined, 10_000, "socket.io disconnect");
    expect(reason).to.equal("transport close");
    s.close();
    const after = await rowCounts(process.env.TEST_DATABASE_URL!);
    expect(after.city_room_messages).to.equal(before.city_room_messages);
  });

  it("10,000-deep nesting: a clear 400 (or the harmless field ignored), on REST, raw ws and Socket.IO", async () => {
    const deep = deepArray(10_000);
    for (const [path, body] of [
      [`/city/rooms/${room}/messages`, `{"body":${deep}}`],
      [`/city/rooms/${room}/messages`, deepObject(10_000)],
      ["/city/rooms", `{"name":${deep}}`],
      ["/secondme/invoke", `{"prompt":${deepObject(10_000)}}`],
      ["/city/rooms", deep],
    ] as const) {
      const r = await raw(srv.url, "POST", path, body, {}, tok);
      expect(r.status, `${path} ${body.slice(0, 20)}`).to.equal(400);
      expect(r.json.error.code).to.be.oneOf(["validation_failed", "invalid_json"]);
    }
    const ignored = await raw(srv.url, "POST", `/city/rooms/${room}/messages`, `{"body":"fine","extra":${deep}}`, {}, tok);
    expect(ignored.status).to.equal(201);

    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: tok });
    ws.send(`{"event":"room.message.send","room_id":"${room}","body":${deep},"client_message_id":"deep-1"}`);
    const err = await ws.waitFor((e) => e.event === "error" && e.ref === "deep-1", 10_000, "deep error");
    expect(err.code).to.equal("validation_failed");
    ws.send(`{"event":"room.join","room_id":${deepObject(10_000)}}`);
    await until(() => (ws.events.filter((e) => e.event === "error").length >= 2 ? true : undefined), 10_000, "second error");
    expect(ws.closed).to.equal(undefined);
    ws.close();

    // Socket.IO, packets written by hand: the deep payload gets an error event, the socket stays.
    const sio = await rawSocketIo(srv.url, "/city/rooms", tok);
    // <type 4 2 = event>/<namespace>,<ack id><json>; the ack comes back as 43/<namespace>,<id><json>.
    sio.ws.send(`42/city/rooms,1["room.message.send",{"room_id":"${room}","body":${deep}}]`);
    await until(() => (sio.frames.some((f) => f.startsWith("43/city/rooms,1")) ? true : undefined), 10_000, "ack of the deep event");
    const ack = JSON.parse(sio.frames.find((f) => f.startsWith("43/city/rooms,1"))!.slice("43/city/rooms,1".length)) as [{ event: string; code: string }];
    expect(ack[0]).to.include({ event: "error", code: "validation_failed" });
    expect(sio.closed()).to.equal(false);
    sio.ws.close();
  });

  it("malformed Socket.IO packets end only that connection; the server carries on", async () => {
    for (const packet of ["42/city/rooms,[broken", "42/city/rooms,{}", "4x", "42/city/rooms,[]", "42/nope,[\"x\"]", "45-/city/rooms,[\"x\",{\"_placeholder\":true,\"num\":99}]"]) {
      const sio = await rawSocketIo(srv.url, "/city/rooms", tok);
      sio.ws.send(packet);
      // Packets are taken in order: once a request sent after it is answered, or the connection
      // is closed, the server has dealt with the bad one.
      sio.ws.send('42/city/rooms,7["server.info",{}]');
      await until(() => (sio.closed() || sio.frames.some((f) => f.startsWith("43/city/rooms,7")) ? true : undefined), 5_000, `the server's answer after ${packet}`);
      sio.ws.close();
    }
    const ok = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`);
    expect(await ok.worker()).to.be.oneOf(["1", "2"]);
    ok.close();
  });

  it("bytes that are not UTF-8: stored well-formed or refused, never a 500", async () => {
    const r = await raw(srv.url, "POST", `/city/rooms/${room}/messages`, Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0x68, 0x69, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), {}, tok);
    expect([201, 400]).to.include(r.status);
    if (r.status === 201) expect((r.json.body as string).isWellFormed()).to.equal(true);
    for (const path of [`/city/rooms/%FF%FE`, `/city/rooms/${room}/messages?before=%FF`, `/city/presence?user_ids=%C3%28`, `/city/feed?before=%ED%A0%80`]) {
      const g = await raw(srv.url, "GET", path);
      expect(g.status, path).to.be.within(400, 499);
      expect(g.json.error.code, path).to.match(/^[a-z_]+$/);
    }
  });

  it("hostile path ids on every route and prefix, and on the WebSocket paths: 4xx, no worker lost", async () => {
    const routes = (id: string) => [
      ["GET", `/city/rooms/${id}`],
      ["GET", `/city/rooms/${id}/messages`],
      ["POST", `/city/rooms/${id}/messages`],
      ["POST", `/city/rooms/${id}/join`],
      ["POST", `/city/rooms/${id}/leave`],
    ];
    const ids = [...HOSTILE_IDS, "..%2F..%2F..%2Fadmin%2Fqueues", "room_city_general%2F..%2F..", "%FF", "%", "%C0%AF"];
    for (const prefix of ["", "/api", "/v1"]) {
      for (const id of ids) {
        for (const [method, path] of routes(id)) {
          const r = await raw(srv.url, method!, `${prefix}${path}`, method === "POST" ? '{"body":"x"}' : undefined, {}, tok);
          expect(r.status, `${method} ${prefix}${path}`).to.be.within(400, 499);
          expect(r.json?.error?.code, `${method} ${prefix}${path}`).to.match(/^[a-z_]+$/);
        }
      }
    }
    // The raw-ws paths, including escapes that do not decode (these used to crash the worker).
    for (const id of [...ids, "%E0%A4%A"]) {
      for (const prefix of ["", "/v1"]) {
        const status = await WsClient.connect(srv.url, `${prefix}/ws/city/rooms/${id}`).then(
          (c) => (c.close(), 101),
          (err: { status?: number }) => err.status ?? 0,
        );
        expect(status, `${prefix}/ws/city/rooms/${id}`).to.be.within(400, 499);
      }
    }
    const weird = await rawHttp(srv.port, "GET // HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    expect(weird).to.match(/^HTTP\/1\.1 4\d\d /);
    // Every refused upgrade was answered: a worker that had died of one would be gone by now.
    expect(await workerPids(srv.process.pid!)).to.deep.equal(workersBefore);
    expect((await fetch(`${srv.url}/healthz`)).status).to.equal(200);
  });
});

describe("hostile: no prototype pollution, checked inside the server process", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const tok = userToken(`u_proto_${run}`);
  let app: App;
  let url: string;
  let room: string;
  const snapshot = () =>
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(","));

  before(async () => {
    const config = loadConfig(testEnv({ BULLMQ_PREFIX: `city:test:${run}:bull`, RATE_LIMIT_PREFIX: `city:rl:test:${run}`, SECONDME_TIMEOUT_MS: "1000" }));
    app = await createApp(config, { workerId: "in-process", logger: createLogger("fatal") });
    await new Promise<void>((r) => app.server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    room = await freshRoom(url, tok, "proto");
  });
  after(async function () {
    this.timeout(30_000);
    await app?.close();
  });

  it("__proto__ and constructor keys over REST, raw ws and Socket.IO leave every prototype untouched", async () => {
    const before = snapshot();
    const poison = [
      '{"__proto__":{"polluted":"yes","body":"from the prototype","prompt":"p","name":"n","role":"admin"}}',
      '{"constructor":{"prototype":{"polluted":"yes","body":"proto"}}}',
      '{"body":"ok","__proto__":{"polluted":"yes"},"data":{"__proto__":{"body":"x"}}}',
      '{"text":"t","data":{"constructor":{"prototype":{"polluted":"yes"}}}}',
      '[{"__proto__":{"polluted":"yes"}}]',
    ];
    for (const body of poison) {
      for (const path of [`/city/rooms/${room}/messages`, "/city/rooms", "/secondme/invoke", `/city/rooms/${room}/join`, `/v1/city/rooms/${room}/messages`]) {
        const r = await raw(url, "POST", path, body, {}, tok);
        expect(r.status, `${path} ${body}`).to.be.below(500);
      }
    }
    const q = await raw(url, "GET", `/city/presence?user_ids=u_a&__proto__[polluted]=yes&constructor[prototype][polluted]=yes`);
    expect(q.status).to.be.below(500);

    const ws = await WsClient.connect(url, `/ws/city/rooms/${room}`, { token: tok });
    for (const body of poison) ws.send(`{"event":"room.message.send","room_id":"${room}",${body.slice(1, -1) || '"x":1'}}`);
    ws.send('{"event":"__proto__","room_id":"x"}');
    ws.send('{"__proto__":{"event":"room.join"},"room_id":"x"}');
    const s = io(`${url}/city/rooms`, { transports: ["websocket"], reconnection: false, forceNew: true, auth: { token: tok } });
    await new Promise<void>((r) => s.once("connect", () => r()));
    for (const body of poison) {
      const payload = JSON.parse(body.startsWith("[") ? body.slice(1, -1) : body) as Record<string, unknown>;
      await s.timeout(5_000).emitWithAck("room.message.send", { room_id: room, ...payload }).catch(() => undefined);
    }
    await s.timeout(5_000).emitWithAck("__proto__", { polluted: "yes" }).catch(() => undefined);
    // A connection's room events are handled in order: once this one is acknowledged, so were the poisoned ones.
    ws.send({ event: "room.message.send", room_id: room, body: "after the poison", client_message_id: "after-poison" });
    await ws.waitFor((e) => e.event === "room.message.ack" && e.client_message_id === "after-poison", 5_000, "the last ack");
    s.close();
    ws.close();

    expect(snapshot()).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(({} as Record<string, unknown>).body).to.equal(undefined);
    expect(({} as Record<string, unknown>).role).to.equal(undefined);
    // And the server still refuses an empty body, which a polluted prototype would have filled in.
    const empty = await raw(url, "POST", `/city/rooms/${room}/messages`, "{}", {}, tok);
    expect([empty.status, empty.json.error.code]).to.deep.equal([400, "validation_failed"]);
  });
});
