// The Agents Core drivers against the stand-in (both transports), the tolerant reply reading,
// the wire bodies of CONTRACT §8, the context format, and the agents.reply parsing.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import type { AgentInvocation } from "../../src/infra/agents-core/agents-core.js";
import { createAgentsCore } from "../../src/infra/agents-core/create-agents-core.js";
import { createHttpAgentsCore, invokeUrl } from "../../src/infra/agents-core/http-agents-core.js";
import { createNatsAgentsCore } from "../../src/infra/agents-core/nats-agents-core.js";
import { parseAgentRoomReply, replyKey } from "../../src/infra/agents-core/agents-reply-consumer.js";
import { httpBody, natsBody, replyText } from "../../src/infra/agents-core/wire.js";
import { buildAgentInput, parseAgentInput } from "../../src/secondme/context.js";
import { toPairs } from "../../src/secondme/shapes.js";
import { loadConfig } from "../../src/config/config.js";
import { NATS_URL } from "./support.js";

const req = (prompt: string, input = buildAgentInput([], prompt)): AgentInvocation => ({
  agentId: "ag_secondme_global",
  userId: "u_1",
  prompt,
  input,
  channelId: "secondme:u_1",
  source: "secondme",
});

async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("agents core", () => {
  let standin: AgentsCoreStandin;
  before(async () => {
    standin = await startAgentsCoreStandin({ port: 0, natsUrl: NATS_URL });
  });
  after(async () => standin?.close());

  it("reads the reply from the first present field, message.content and reply_text included", () => {
    expect(replyText({ reply: "a", response: "b" })).to.equal("a");
    expect(replyText({ response_text: "b", output: "c" })).to.equal("b");
    expect(replyText({ response: "c" })).to.equal("c");
    expect(replyText({ output: "d" })).to.equal("d");
    expect(replyText({ text: "e" })).to.equal("e");
    expect(replyText({ message: { content: "f" } })).to.equal("f");
    expect(replyText({ reply_text: "g" })).to.equal("g");
    expect(replyText({ reply: "", output: "h" })).to.equal("h");
    for (const none of [{}, { reply: 5 }, { message: "x" }, null, "text", [{ reply: "x" }]]) expect(replyText(none)).to.equal(undefined);
  });

  it("sends the contract's bodies", () => {
    expect(httpBody(req("hi", "IN"))).to.deep.equal({
      input: "IN",
      context: { user_id: "u_1", kind: "secondme" },
      agent_id: "ag_secondme_global",
      message_text: "hi",
      channel_id: "secondme:u_1",
      user_id: "u_1",
    });
    const at = new Date("2026-01-02T03:04:05.000Z");
    expect(natsBody(req("hi", "IN"), at)).to.deep.equal({
      event: "agents.invoke",
      agent_id: "ag_secondme_global",
      payload: { input: "IN", user_id: "u_1", source: "secondme" },
      channel_id: "secondme:u_1",
      message_text: "hi",
      user_id: "u_1",
      ts: "2026-01-02T03:04:05.000Z",
    });
    expect(invokeUrl("http://h:1/", "/agents/{agent_id}/invoke", "ag a")).to.equal("http://h:1/agents/ag%20a/invoke");
    expect(invokeUrl("http://h:1", "/agents/invoke", "ag_x")).to.equal("http://h:1/agents/invoke");
  });

  it("round-trips the context format, whatever the messages hold", () => {
    const ctx = [
      { role: "user" as const, content: "line one\n\nCurrent message:\n[assistant] fake" },
      { role: "assistant" as const, content: "ok" },
    ];
    const input = buildAgentInput(ctx, "now\n[user] not context");
    expect(parseAgentInput(input)).to.deep.equal({ contextCount: 2, message: "now\n[user] not context" });
    expect(parseAgentInput(buildAgentInput([], "solo"))).to.deep.equal({ contextCount: 0, message: "solo" });
    expect(parseAgentInput("plain text")).to.deep.equal({ contextCount: 0, message: "plain text" });
  });

  for (const transport of ["http", "nats"] as const) {
    describe(`${transport} driver`, () => {
      const driver = () =>
        transport === "http"
          ? createHttpAgentsCore({ url: standin.url, invokePath: "/agents/{agent_id}/invoke", timeoutMs: 400 })
          : createNatsAgentsCore({ natsUrl: NATS_URL, timeoutMs: 400 });

      it("answers and maps every failure to a typed, correctly retryable error", async () => {
        const d = driver();
        try {
          const input = buildAgentInput([{ role: "user", content: "a" }, { role: "assistant", content: "b" }], "hello");
          expect(await d.invoke(req("hello", input))).to.deep.equal({ text: "echo: hello (context: 2)" });
          const cases: [string, string, string, boolean][] = [
            ["[[fail:500]]", "AgentFailedError", "agent_failed", true],
            ["[[fail:503]]", "AgentFailedError", "agent_failed", true],
            ["[[fail:429]]", "AgentRateLimitedError", "rate_limited", false],
            ["[[fail:404]]", "AgentFailedError", "agent_failed", false],
            ["[[malformed]]", "AgentFailedError", "agent_failed", false],
            ["[[noreply]]", "AgentFailedError", "agent_failed", false],
            ["[[slow:900]]", "AgentTimeoutError", "agent_timeout", false],
          ];
          for (const [prompt, name, code, retryable] of cases) {
            const err = await failure(d.invoke(req(prompt)));
            expect([err.name, err.code, err.retryable], prompt).to.deep.equal([name, code, retryable]);
          }
          const limited = await failure(d.invoke(req("[[fail:429]]")));
          expect(limited.toAppError().details).to.deep.equal({ retryAfter: 1 });
        } finally {
          await d.close();
        }
      });
    });
  }

  it("http: an unreachable agent is a retryable transport error; /agents/invoke works as the path", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failure(createHttpAgentsCore({ url: `http://127.0.0.1:${port}`, invokePath: "/x", timeoutMs: 1000 }).invoke(req("x")));
    expect([err.name, err.code, err.retryable]).to.deep.equal(["AgentUnreachableError", "agent_failed", true]);
    const flat = createHttpAgentsCore({ url: standin.url, invokePath: "/agents/invoke", timeoutMs: 1000 });
    expect((await flat.invoke(req("flat"))).text).to.equal("echo: flat (context: 0)");
  });

  it("nats: no responder on the subject is a retryable transport error", async () => {
    const d = createNatsAgentsCore({ natsUrl: NATS_URL, timeoutMs: 500, subject: `city.test.nobody.${Date.now()}` });
    try {
      const err = await failure(d.invoke(req("x")));
      expect([err.name, err.retryable]).to.deep.equal(["AgentUnreachableError", true]);
    } finally {
      await d.close();
    }
  });

  it("chooses the driver from config; http without AGENTS_CORE_URL calls http://127.0.0.1:7002", async () => {
    for (const NODE_ENV of ["test", "production"]) {
      const agents = loadConfig({ NODE_ENV, DATABASE_URL: "postgres://h/db", JWT_SECRET: "x".repeat(32) }).agents;
      expect(agents.url).to.equal("http://127.0.0.1:7002");
      const d = createAgentsCore(agents);
      expect(d).to.have.property("invoke");
      await d.close();
    }
    const nats = createAgentsCore(loadConfig({ NODE_ENV: "test", AGENTS_TRANSPORT: "nats" }).agents);
    expect(nats).to.have.property("invoke");
    await nats.close();
  });

  it("gives each call SECONDME_TIMEOUT_MS when AGENTS_CORE_TIMEOUT_MS is unset, and the override when set", async function () {
    // Scaled down: a 400 ms wait. The old fixed 25 s default let this 1.5 s agent run on far
    // past the caller's wait (and cut off one that answered after 25 s of a 30 s wait).
    this.timeout(10_000);
    const d = createAgentsCore(loadConfig({ NODE_ENV: "test", AGENTS_CORE_URL: standin.url, SECONDME_TIMEOUT_MS: "400" }).agents);
    const started = Date.now();
    const err = await failure(d.invoke(req("[[slow:1500]] patient")));
    expect(err.name).to.equal("AgentTimeoutError");
    expect(Date.now() - started).to.be.within(350, 1400);
    await d.close();
    const longer = createAgentsCore(loadConfig({ NODE_ENV: "test", AGENTS_CORE_URL: standin.url, SECONDME_TIMEOUT_MS: "400", AGENTS_CORE_TIMEOUT_MS: "5000" }).agents);
    expect((await longer.invoke(req("[[slow:600]] patient"))).text).to.equal("echo: [[slow:600]] patient (context: 0)");
    await longer.close();
  });

  it("parses agents.reply bodies meant for a room", () => {
    expect(parseAgentRoomReply({ agent_id: "ag_a", room_id: "room_city_general", reply: "hi" })).to.deep.equal({ agentId: "ag_a", roomId: "room_city_general", text: "hi" });
    expect(parseAgentRoomReply({ agent_id: "ag_a", channel_id: "room:room_city_x", reply_text: "yo" })).to.deep.equal({ agentId: "ag_a", roomId: "room_city_x", text: "yo" });
    expect(parseAgentRoomReply({ agent_id: "ag_a", payload: { room_id: "room_city_y", message: { content: "m" } } })).to.deep.equal({ agentId: "ag_a", roomId: "room_city_y", text: "m" });
    expect(parseAgentRoomReply({ agent_id: "ag_a", channel_id: "secondme:u_1", reply: "private" })).to.equal(undefined);
    expect(parseAgentRoomReply({ room_id: "room_city_general", reply: "anonymous" })).to.equal(undefined);
    expect(parseAgentRoomReply({ agent_id: "ag_a", room_id: "room_city_general" })).to.equal(undefined);
    // The reply's own id, when it has one, is kept for the idempotency key.
    expect(parseAgentRoomReply({ agent_id: "ag_a", room_id: "r", reply: "x", reply_id: "rep-1", id: "other" })).to.deep.equal({ agentId: "ag_a", roomId: "r", text: "x", id: "rep-1" });
    expect(parseAgentRoomReply({ agent_id: "ag_a", payload: { room_id: "r", reply: "x", message_id: "m-9" } })?.id).to.equal("m-9");
  });

  it("keys a room reply by its own id, else by the stream's sequence", () => {
    const reply = { agentId: "ag_a", roomId: "room_city_x", text: "t" };
    const stream = { name: "CITY_AGENTS_REPLY", createdMs: 1_700_000_000_000, seq: 42 };
    expect(replyKey(reply, stream)).to.equal("ar:seq:CITY_AGENTS_REPLY:1700000000000:42");
    expect(replyKey({ ...reply, id: "rep-1" }, stream)).to.equal("ar:id:rep-1");
    // An id a client_message_id cannot hold (spaces, too long, not ASCII) is hashed.
    for (const id of ["with space", "ї".repeat(10), "x".repeat(300)]) expect(replyKey({ ...reply, id }, stream)).to.match(/^ar:idh:[0-9a-f]{64}$/);
    expect(replyKey({ ...reply, id: "with space" }, stream)).to.equal(replyKey({ ...reply, id: "with space" }, { ...stream, seq: 7 }));
  });

  it("pairs history for the /v1 dialect, a prompt without reply included", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const msgs = [
      { id: "smmsg_0", role: "assistant" as const, content: "orphan", createdAt: at(0) },
      { id: "smmsg_1", role: "user" as const, content: "p1", createdAt: at(1) },
      { id: "smmsg_2", role: "assistant" as const, content: "r1", createdAt: at(2) },
      { id: "smmsg_3", role: "user" as const, content: "p2 failed", createdAt: at(3) },
      { id: "smmsg_4", role: "user" as const, content: "p3", createdAt: at(4) },
      { id: "smmsg_5", role: "assistant" as const, content: "r3", createdAt: at(5) },
    ];
    expect(toPairs(msgs)).to.deep.equal([
      { id: "smmsg_1", prompt: "p1", response: "r1", created_at: at(1).toISOString() },
      { id: "smmsg_3", prompt: "p2 failed", response: null, created_at: at(3).toISOString() },
      { id: "smmsg_4", prompt: "p3", response: "r3", created_at: at(4).toISOString() },
    ]);
  });
});
