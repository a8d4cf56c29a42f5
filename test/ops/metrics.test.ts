// /metrics (CONTRACT §6): Prometheus text for the whole cluster, at every prefix, without a token,
// with series that move when traffic flows; and the request id that follows a request into its
// job's log lines. Runs the real cluster (2 workers) and its job workers with the stand-in agent.
import { expect } from "chai";
import { freshRoom } from "../support/api.js";
import { SioClient, WsClient, until } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { auth, userToken } from "../support/tokens.js";
import { dropKeys, scrape, total, type Sample } from "./support.js";

const run = Math.random().toString(36).slice(2, 10);

describe("ops: /metrics", function () {
  this.timeout(120_000);
  let srv: TestServer;
  let standin: AgentsCoreStandin;
  let room: string;
  const clients: { close(): void }[] = [];
  const userA = `u_metrics_${run}_a`;
  const userB = `u_metrics_${run}_b`;
  const tokenA = userToken(userA);
  const tokenB = userToken(userB);

  before(async function () {
    this.timeout(120_000);
    standin = await startAgentsCoreStandin({ port: 0 });
    srv = await startServer({
      RATE_LIMIT_ENABLED: "false",
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      SECONDME_TIMEOUT_MS: "90000", // the job workers start after the API, slowly on a loaded machine
      // The stand-in Agents Core of this test (AGENTS_CORE_URL unset would mean 127.0.0.1:7002
      // outside development); info level shows the request lines.
      AGENTS_CORE_URL: standin.url,
      AGENTS_SERVICE_URL: "",
      AGENTS_TRANSPORT: "http",
      LOG_LEVEL: "info",
    });
    room = await freshRoom(srv.url, tokenA, "metrics");
  });
  after(async function () {
    this.timeout(60_000);
    for (const c of clients) c.close();
    await srv?.stop();
    await standin?.close();
    await dropKeys(`city:test:${run}:bull:*`);
  });

  it("answers Prometheus text at every prefix without a token", async () => {
    for (const prefix of ["", "/api", "/v1"]) {
      const res = await fetch(`${srv.url}${prefix}/metrics`);
      const text = await res.text();
      expect(res.status, `${prefix}: ${text.slice(0, 300)}\n${srv.output().slice(-2000)}`).to.equal(200);
      expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
      for (const family of [
        "city_http_request_duration_seconds histogram",
        "city_connections gauge",
        "city_room_subscriptions gauge",
        "city_messages_in_total counter",
        "city_messages_out_total counter",
        "city_heartbeats_total counter",
        "city_users_online gauge",
        "city_queue_jobs gauge",
        "city_job_duration_seconds histogram",
        "city_nodejs_eventloop_lag_seconds gauge",
      ]) {
        expect(text, family).to.include(`# TYPE ${family}`);
      }
    }
  });

  it("sums both workers: connections, rooms joined, messages in and out, heartbeats, users online, HTTP latency", async () => {
    const before = await scrape(srv.url);

    // Rooms: Socket.IO over websocket and over long-polling, and a raw ws client, all in one room.
    const sioWs = await SioClient.connect(srv.url, "/city/rooms", { token: tokenA });
    const sioPoll = await SioClient.connect(srv.url, "/city/rooms", { token: tokenB, transports: ["polling"] });
    const raw = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: tokenB });
    clients.push(sioWs, sioPoll, raw);
    await sioWs.emitAck("room.join", { room_id: room });
    await sioPoll.emitAck("room.join", { room_id: room });
    await raw.waitFor((e) => e.event === "room.join", 10_000, "the raw client's join");

    // Presence: a heartbeat on each protocol.
    const sioPresence = await SioClient.connect(srv.url, "/city/presence", { token: tokenA });
    const rawPresence = await WsClient.connect(srv.url, "/ws/city/presence", { token: tokenB });
    clients.push(sioPresence, rawPresence);
    const hb = await sioPresence.emitAck("presence.heartbeat", { user_id: userA });
    expect(hb.status).to.equal("online");
    rawPresence.send({ event: "presence.heartbeat", user_id: userB });

    // Five messages: three over REST, one over each socket protocol.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${srv.url}/city/rooms/${room}/messages`, {
        method: "POST",
        headers: { ...auth(tokenA), "content-type": "application/json" },
        body: JSON.stringify({ body: `rest ${i}` }),
      });
      expect(res.status).to.equal(201);
    }
    const ack = await sioWs.emitAck("room.message.send", { room_id: room, body: "over socket.io", client_message_id: `m-${run}-sio` });
    expect(ack.event).to.equal("room.message.ack");
    raw.send({ event: "room.message.send", room_id: room, body: "over raw ws", client_message_id: `m-${run}-ws` });
    await raw.waitFor((e) => e.event === "room.message.ack", 10_000, "the raw client's ack");
    const fiveMessages = (c: SioClient | WsClient) => () => (c.events.filter((e) => e.event === "room.message").length >= 5 ? true : undefined);
    for (const c of [sioWs, sioPoll, raw]) await until(fiveMessages(c), 10_000, "five room.message deliveries");

    // The raw heartbeat has no answer: scrape until it is counted.
    let after = await scrape(srv.url);
    const delta = (name: string, match: Record<string, string> = {}) => total(after, name, match) - (total(before, name, match) || 0);
    for (let i = 0; i < 50 && delta("city_heartbeats_total") < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await scrape(srv.url);
    }

    expect(total(after, "city_connections", { protocol: "socket.io", namespace: "/city/rooms", transport: "websocket" })).to.be.at.least(1);
    expect(total(after, "city_connections", { protocol: "socket.io", namespace: "/city/rooms", transport: "polling" })).to.be.at.least(1);
    expect(total(after, "city_connections", { protocol: "socket.io", namespace: "/city/presence", transport: "websocket" })).to.be.at.least(1);
    expect(total(after, "city_connections", { protocol: "ws", namespace: "/city/rooms" })).to.be.at.least(1);
    expect(total(after, "city_connections", { protocol: "ws", namespace: "/city/presence" })).to.be.at.least(1);
    expect(total(after, "city_room_subscriptions", { protocol: "socket.io" })).to.be.at.least(2);
    expect(total(after, "city_room_subscriptions", { protocol: "ws" })).to.be.at.least(1);

    expect(delta("city_messages_in_total")).to.be.at.least(5);
    expect(delta("city_messages_out_total", { protocol: "socket.io" })).to.be.at.least(10);
    expect(delta("city_messages_out_total", { protocol: "ws" })).to.be.at.least(5);
    expect(delta("city_realtime_events_total", { event: "room.message.send" })).to.be.at.least(2);
    expect(delta("city_realtime_events_total", { event: "room.join" })).to.be.at.least(3);
    expect(delta("city_heartbeats_total")).to.be.at.least(2);
    expect(total(after, "city_users_online")).to.be.at.least(2);

    const posts = { method: "POST", route: "/city/rooms/:roomId/messages", status: "201" };
    expect(delta("city_http_request_duration_seconds_count", posts)).to.be.at.least(3);
    expect(delta("city_http_request_duration_seconds_sum", posts)).to.be.greaterThan(0);
    // Routes are patterns: no raw path (with a room id in it) ever becomes a label.
    const routes = new Set(after.filter((s) => s.name.startsWith("city_http_")).map((s) => s.labels.route));
    expect([...routes].filter((r) => r?.includes("room_city_"))).to.deep.equal([]);
    expect(total(after, "city_nodejs_eventloop_lag_seconds")).to.be.at.least(0);
  });

  it("shows queue depth while a Second Me job runs, then its duration; the request id reaches the job's log", async () => {
    const reqId = `req-${run}-secondme`;
    const invoke = fetch(`${srv.url}/secondme/invoke`, {
      method: "POST",
      headers: { ...auth(tokenA), "content-type": "application/json", "x-request-id": reqId },
      body: JSON.stringify({ prompt: "[[slow:3000]] how deep is the queue?" }),
    });
    const busy = (s: Sample[]) => total(s, "city_queue_jobs", { queue: "secondme", state: "active" }) + total(s, "city_queue_jobs", { queue: "secondme", state: "waiting" });
    let seen = 0;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && seen === 0) {
      seen = busy(await scrape(srv.url));
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen, "secondme jobs waiting or active during the call").to.be.at.least(1);

    const res = await invoke;
    expect(res.status).to.equal(200);
    expect(res.headers.get("x-request-id")).to.equal(reqId);
    const body = (await res.json()) as { reply: string };
    expect(body.reply).to.be.a("string");

    const done = await scrape(srv.url);
    expect(total(done, "city_job_duration_seconds_count", { queue: "secondme", outcome: "completed" })).to.be.at.least(1);
    expect(total(done, "city_job_duration_seconds_sum", { queue: "secondme", outcome: "completed" })).to.be.at.least(2.5);
    expect(total(done, "city_job_duration_seconds_bucket", { queue: "secondme", outcome: "completed", le: "+Inf" })).to.equal(
      total(done, "city_job_duration_seconds_count", { queue: "secondme", outcome: "completed" }),
    );

    // The API's request line and the job's line carry the same reqId; neither holds the token or the prompt.
    const lines = await until(() => {
      const found = srv
        .output()
        .split("\n")
        .filter((l) => l.includes(reqId));
      return found.some((l) => l.includes("Second Me job done")) && found.some((l) => l.includes('"msg":"request"')) ? found : undefined;
    }, 10_000, "log lines with the request id");
    const request = JSON.parse(lines.find((l) => l.includes('"msg":"request"'))!) as Record<string, unknown>;
    expect(request).to.include({ reqId, method: "POST", route: "/secondme/invoke", status: 200 });
    expect(request.ms).to.be.a("number");
    const job = JSON.parse(lines.find((l) => l.includes("Second Me job done"))!) as Record<string, unknown>;
    expect(job.reqId).to.equal(reqId);
    expect(srv.output()).to.not.include(tokenA);
    expect(srv.output()).to.not.include("how deep is the queue");
  });

  it("keeps a sane X-Request-Id and replaces anything else with a fresh one", async () => {
    const kept = await fetch(`${srv.url}/city/rooms`, { headers: { "x-request-id": "abc-123_X.y" } });
    expect(kept.headers.get("x-request-id")).to.equal("abc-123_X.y");
    const replaced = await fetch(`${srv.url}/city/rooms`, { headers: { "x-request-id": "no spaces <or> tags" } });
    expect(replaced.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
    const fresh = await fetch(`${srv.url}/v1/city/rooms`);
    expect(fresh.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
  });
});
