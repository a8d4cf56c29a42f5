// Liveness, readiness and CORS (CONTRACT §2, §6) at every prefix.
import { expect } from "chai";
import { startServer, type TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, call, get } from "./client.js";

describe("rest: health and CORS", () => {
  let srv: TestServer;
  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
  });

  for (const prefix of PREFIXES) {
    it(`${prefix || "/"}: /healthz answers ok and /readyz reports PostgreSQL and Redis`, async () => {
      const live = await get(srv.url, `${prefix}/healthz`);
      expect(live.status).to.equal(200);
      expect(live.body).to.deep.equal({ status: "ok" });
      const ready = await get(srv.url, `${prefix}/readyz`);
      expect(ready.status).to.equal(200);
      expect(ready.body.status).to.equal("ready");
      expect(ready.body.checks).to.include({ postgres: "ok", redis: "ok" });
    });
  }

  it("answers liveness even with a stale token", async () => {
    const res = await get(srv.url, "/healthz", "stale.token.here");
    expect(res.status).to.equal(200);
  });

  it("echoes an allowed (localhost, in development) origin with credentials, never *", async () => {
    const origin = "http://localhost:5173";
    const res = await call(srv.url, "GET", "/v1/city/rooms", { headers: { origin } });
    expect(res.status).to.equal(200);
    expect(res.headers.get("access-control-allow-origin")).to.equal(origin);
    expect(res.headers.get("access-control-allow-credentials")).to.equal("true");
    expect(res.headers.get("vary") ?? "").to.match(/origin/i);
  });

  it("keeps the CORS headers on error responses, so the browser can read the error", async () => {
    const origin = "http://localhost:5173";
    const res = await call(srv.url, "POST", "/v1/city/rooms/room_city_general/messages", { json: { text: "x" }, headers: { origin } });
    expect(res.status).to.equal(401);
    expect(res.headers.get("access-control-allow-origin")).to.equal(origin);
    expect(res.body.error.code).to.equal("unauthorized");
    // What a browser script needs to react: why (WWW-Authenticate), when to retry, which request.
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
    expect(exposed).to.include.members(["www-authenticate", "retry-after", "x-request-id"]);
  });

  it("does not echo a foreign origin", async () => {
    const res = await call(srv.url, "GET", "/city/rooms", { headers: { origin: "https://evil.example" } });
    expect(res.status).to.equal(200);
    expect(res.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("answers a preflight for an allowed origin with the methods and headers the front end needs", async () => {
    const res = await call(srv.url, "OPTIONS", "/v1/city/rooms/room_city_general/messages", {
      headers: {
        origin: "http://127.0.0.1:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get("access-control-allow-origin")).to.equal("http://127.0.0.1:3000");
    expect(res.headers.get("access-control-allow-methods")).to.include("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).to.include("authorization");
    // And the real request that follows works with the same origin.
    const post = await call(srv.url, "POST", "/v1/city/rooms/room_city_general/messages", {
      json: { text: "from the browser" },
      token: userToken("u_cors"),
      headers: { origin: "http://127.0.0.1:3000" },
    });
    expect(post.status).to.equal(201);
    expect(post.headers.get("access-control-allow-origin")).to.equal("http://127.0.0.1:3000");
  });
});

describe("rest: CORS with CORS_ORIGINS", () => {
  let srv: TestServer;
  before(async function () {
    this.timeout(90_000);
    srv = await startServer({ ...FUNCTIONAL_ENV, CORS_ORIGINS: "https://city.example.org/" });
  });
  after(async () => srv?.stop());

  it("allows exactly the listed origins (a trailing slash in the setting still matches)", async () => {
    const ok = await call(srv.url, "GET", "/city/rooms", { headers: { origin: "https://city.example.org" } });
    expect(ok.headers.get("access-control-allow-origin")).to.equal("https://city.example.org");
    const local = await call(srv.url, "GET", "/city/rooms", { headers: { origin: "http://localhost:5173" } });
    expect(local.headers.get("access-control-allow-origin")).to.equal(null);
  });
});
