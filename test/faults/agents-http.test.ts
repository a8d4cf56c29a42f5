// Agents Core over HTTP misbehaving: down (nothing listens), slow, and lying (answers that are not
// what they claim: wrong types, empty, HTML, NUL bytes, oversized, deep, cut, redirected, stalled).
// Every case answers a clear 502 agent_failed or 504 agent_timeout (never a 500), the user's prompt
// is kept in the history, and once Agents Core is back the queue drains and answers resume.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { dropKeys } from "../support/redis-keys.js";
import { startServer, type TestServer } from "../support/server.js";
import { userToken } from "../support/tokens.js";
import { expectQueueDrained, invoke, secondMeFaultEnv, untilAnswered, userPrompts } from "./secondme-support.js";

/** What a lying Agents Core sends for a prompt that starts with `lie:<kind>`. */
function lie(kind: string, res: http.ServerResponse): void {
  const json = (body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
  switch (kind) {
    case "number": return json({ reply: 42 });
    case "empty": return json({ reply: "" });
    case "object": return json({ reply: { text: "nested" }, response: ["x"] });
    case "array": return json(["reply"]);
    case "null": return json("null");
    case "html": res.writeHead(200, { "content-type": "text/html" }); return void res.end("<html><body>Bad gateway</body></html>");
    case "truncated": return json('{"reply": "half');
    case "huge": return json({ reply: "x".repeat(3 * 1024 * 1024) });
    case "deep": return json(`${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`);
    case "nul": return json({ reply: "before\u0000after" });
    case "redirect": res.writeHead(302, { location: "http://127.0.0.1:1/elsewhere" }); return void res.end();
    case "reset": return void res.socket?.destroy();
    case "stall": res.writeHead(200, { "content-type": "application/json" }); return void res.write('{"reply": "never');
    case "slow": setTimeout(() => json({ reply: "too late" }), 5_000).unref(); return;
    default: return json({ reply: `unknown lie ${kind}` });
  }
}

/** A fake Agents Core on a fixed port that a test can take down and bring back. */
async function fakeAgentsCore(port = 0) {
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const prompt = String((JSON.parse(raw) as { message_text?: string }).message_text ?? "");
      const m = /^lie:(\w+)/.exec(prompt);
      if (m) return lie(m[1]!, res);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ reply: `ok: ${prompt}` }));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("faults: Agents Core over HTTP down, slow and lying", function () {
  this.timeout(120_000);
  const run = Math.random().toString(36).slice(2, 8);
  const prefix = `city:test:${run}:bull`;
  let agents: Awaited<ReturnType<typeof fakeAgentsCore>>;
  let srv: TestServer;
  let n = 0;
  const user = () => userToken(`u_ac_${run}_${n++}`);

  before(async function () {
    this.timeout(180_000); // the cluster starts slowly on a loaded machine
    agents = await fakeAgentsCore();
    srv = await startServer({
      AGENTS_CORE_URL: `http://127.0.0.1:${agents.port}`,
      ...secondMeFaultEnv(run, prefix),
    });
    await untilAnswered(srv, user(), 30_000);
  });

  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await agents?.close();
    await dropKeys(`${prefix}:*`);
  });

  const LIES = ["number", "empty", "object", "array", "null", "html", "truncated", "huge", "deep", "nul", "redirect", "reset", "stall", "slow"];

  it("a lying or slow agent: a clear 502 or 504, never a 500, and the prompt is kept", async () => {
    const results = await Promise.all(
      LIES.map(async (kind) => {
        const token = user();
        const prompt = `lie:${kind} please`;
        return { kind, token, prompt, res: await invoke(srv.url, token, prompt) };
      }),
    );
    for (const { kind, token, prompt, res } of results) {
      const code = res.body?.error?.code;
      if (kind === "nul") {
        // Not a lie worth refusing: the text is kept without the byte PostgreSQL cannot store.
        expect(res.status, `${kind}: ${JSON.stringify(res.body)}`).to.equal(200);
        expect(res.body.reply).to.equal("beforeafter");
      } else if (kind === "stall" || kind === "slow") {
        expect(res.status, `${kind}: ${JSON.stringify(res.body)}`).to.equal(504);
        expect(code).to.equal("agent_timeout");
      } else {
        expect(res.status, `${kind}: ${JSON.stringify(res.body)}`).to.equal(502);
        expect(code).to.equal("agent_failed");
      }
      if (res.status !== 200) expect(res.body.error.message, kind).to.match(/agents core|agent/i);
      expect(await userPrompts(srv.url, token), kind).to.deep.equal([prompt]);
    }
    expect((await fetch(`${srv.url}/healthz`)).status).to.equal(200);
  });

  it("down: 502 agent_failed, prompts kept; back up: answers resume and the queue drains", async () => {
    const port = agents.port;
    await agents.close();
    const users = Array.from({ length: 5 }, () => user());
    const down = await Promise.all(users.map((t, i) => invoke(srv.url, t, `while down ${i}`)));
    for (const [i, r] of down.entries()) {
      expect(r.status, JSON.stringify(r.body)).to.equal(502);
      expect(r.body.error.code).to.equal("agent_failed");
      expect(r.body.error.message).to.match(/unreachable/i);
      expect(await userPrompts(srv.url, users[i]!)).to.deep.equal([`while down ${i}`]);
    }
    agents = await fakeAgentsCore(port);
    const back = await Promise.all(users.map((t, i) => invoke(srv.url, t, `back ${i}`)));
    for (const [i, r] of back.entries()) {
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.reply).to.equal(`ok: back ${i}`);
    }
    await expectQueueDrained(prefix);
  });
});
