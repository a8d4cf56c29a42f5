// Development with AGENTS_CORE_URL unset (CONTRACT §2, README "The two commands"): an Agents Core
// that already answers at the default address is used; else the stand-in listens there; else (the
// port is held by something that is not HTTP) the stand-in takes a free port. Run against a free
// port standing in for 7002, so it never depends on what this machine runs on 7002.
import http from "node:http";
import net from "node:net";
import { expect } from "chai";
import { answersHttp, resolveDevAgentsCore } from "../../src/dev/dev-agents-core.js";
import { freePort } from "../support/server.js";

async function invokeEcho(url: string): Promise<unknown> {
  const res = await fetch(`${url}/agents/ag_secondme_global/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message_text: "hi", input: "hi", user_id: "u_dev" }),
  });
  return res.json();
}

describe("development Agents Core (AGENTS_CORE_URL unset)", () => {
  it("uses what already answers HTTP at the default address, whatever the status", async () => {
    const running = http.createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((r) => running.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(running.address() as net.AddressInfo).port}`;
    try {
      const dev = await resolveDevAgentsCore(url);
      expect(dev.choice).to.equal("running");
      expect(dev.url).to.equal(url);
      expect(dev.note).to.include("already answers");
      await dev.close();
      expect(await answersHttp(url, 1_000), "closing leaves a running Agents Core alone").to.equal(true);
    } finally {
      await new Promise<void>((r) => running.close(() => r()));
    }
  });

  it("starts the stand-in on the default port when nothing listens there", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dev = await resolveDevAgentsCore(url);
    try {
      expect(dev.choice).to.equal("standin");
      expect(dev.url).to.equal(url);
      expect(dev.note).to.include("stand-in");
      expect(await invokeEcho(dev.url)).to.include({ reply: "echo: hi (context: 0)" });
    } finally {
      await dev.close();
    }
    expect(await answersHttp(url, 1_000), "the stand-in stopped").to.equal(false);
  });

  it("starts the stand-in on a free port when the default port is held by something that is not HTTP", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s); // accepts, never answers
      s.on("error", () => {});
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const dev = await resolveDevAgentsCore(`http://127.0.0.1:${port}`, { probeTimeoutMs: 300 });
    try {
      expect(dev.choice).to.equal("standin-free-port");
      expect(new URL(dev.url).port).to.not.equal(String(port));
      expect(dev.note).to.include("free port");
      expect(await invokeEcho(dev.url)).to.include({ reply: "echo: hi (context: 0)" });
    } finally {
      await dev.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
