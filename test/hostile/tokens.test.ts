// Hostile JWTs on every door: REST (reads and writes), Socket.IO (auth, ?token=, Authorization) and
// raw ws (?token=, Authorization), on a server that trusts an HS256 secret and an RS256 public key.
// Malformed, expired, not-yet-valid, `alg: none`, HS/RS-confused (HMAC keyed with the public key),
// wrong-secret, wrong-key, tampered and subject-less tokens are all refused with 401 unauthorized
// and a clear message, and write nothing; a genuine RS256 token is accepted.
import crypto from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { io } from "socket.io-client";
import { startServer, type TestServer } from "../support/server.js";
import { WsClient } from "../support/clients.js";
import { freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";
import { rowCounts } from "../faults/support.js";
import { badTokens } from "./fuzz.js";

const pair = () => crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });

function sioConnect(url: string, nsp: string, how: "auth" | "query" | "header", token: string): Promise<{ ok: true } | { ok: false; data: unknown; message: string }> {
  const s = io(`${url}${nsp}`, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    auth: how === "auth" ? { token } : {},
    query: how === "query" ? { token } : {},
    extraHeaders: how === "header" ? { authorization: `Bearer ${token}` } : {},
  });
  return new Promise((resolve) => {
    s.once("connect", () => {
      s.close();
      resolve({ ok: true });
    });
    s.once("connect_error", (err: Error & { data?: unknown }) => {
      s.close();
      resolve({ ok: false, data: err.data, message: err.message });
    });
  });
}

describe("hostile: tokens on REST and both socket transports", function () {
  this.timeout(60_000);
  const run = Math.random().toString(36).slice(2, 8);
  const trusted = pair();
  const stranger = pair();
  const bad = badTokens({ rsaPublic: trusted.publicKey, strangerPrivate: stranger.privateKey });
  const good = jwt.sign({ sub: `u_rs_${run}` }, trusted.privateKey, { algorithm: "RS256", expiresIn: "1h" });
  let srv: TestServer;
  let room: string;

  before(async () => {
    srv = await startServer({
      JWT_PUBLIC_KEY: trusted.publicKey.replace(/\n/g, "\\n"),
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
    });
    room = await freshRoom(srv.url, userToken(`u_tok_${run}`), "tok");
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
    for (const how of ["auth", "query", "header"] as const) expect(await sioConnect(srv.url, "/city/rooms", how, good), how).to.deep.equal({ ok: true });
    const ws = await WsClient.connect(srv.url, `/ws/city/rooms/${room}`, { token: good });
    await ws.waitFor((e) => e.event === "room.join" && e.user_id === `u_rs_${run}`, 5_000, "joined as the RS256 user");
    ws.close();
  });

  it("refuses every bad token on REST with 401 unauthorized and writes nothing", async () => {
    const before = await rowCounts(process.env.TEST_DATABASE_URL!);
    for (const [name, token] of Object.entries(bad)) {
      for (const [method, path, body] of [
        ["GET", "/city/rooms", undefined],
        ["GET", `/v1/city/rooms/${room}`, undefined],
        ["POST", `/city/rooms/${room}/messages`, { body: `forged by ${name}` }],
        ["POST", "/api/city/rooms", { name: `forged ${name}`, slug: `forged-${run}-${name.replace(/_/g, "-")}` }],
        ["POST", "/secondme/invoke", { prompt: "whose history?" }],
        ["GET", "/secondme/history", undefined],
      ] as const) {
        const res = await fetch(srv.url + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const json = (await res.json()) as { error: { code: string; message: string } };
        expect([res.status, json.error.code], `${name} ${method} ${path}`).to.deep.equal([401, "unauthorized"]);
        expect(json.error.message).to.match(name === "expired" ? /expired/i : /token|authoriz/i);
      }
    }
    expect(await rowCounts(process.env.TEST_DATABASE_URL!)).to.deep.equal(before);
  });

  it("refuses every bad token on Socket.IO (auth, ?token=, Authorization) with connect_error unauthorized", async () => {
    for (const [name, token] of Object.entries(bad)) {
      for (const nsp of ["/city/rooms", "/city/presence"]) {
        for (const how of ["auth", "query", "header"] as const) {
          const r = await sioConnect(srv.url, nsp, how, token);
          expect(r.ok, `${name} ${nsp} ${how}`).to.equal(false);
          if (!r.ok) expect((r.data as { code?: string })?.code, `${name} ${nsp} ${how}: ${r.message}`).to.equal("unauthorized");
        }
      }
    }
  });

  it("refuses every bad token on raw ws (?token= and Authorization) with a 401 before the upgrade", async () => {
    for (const [name, token] of Object.entries(bad)) {
      for (const path of [`/ws/city/rooms/${room}`, `/v1/ws/city/rooms/${room}`, "/ws/city/presence"]) {
        for (const how of ["query", "header"] as const) {
          const status = await WsClient.connect(srv.url, path, how === "query" ? { token } : { headers: { authorization: `Bearer ${token}` } }).then(
            (c) => (c.close(), 101),
            (err: { status?: number }) => err.status ?? 0,
          );
          expect(status, `${name} ${path} ${how}`).to.equal(401);
        }
      }
    }
  });
});
