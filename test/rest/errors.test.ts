// Every way a request can be wrong (CONTRACT §3, §6): each answers with the exact error shape
// {error: {code, message, ...}}, the right status, never a stack trace or a 500, and writes nothing.
import { createHmac, generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import type pg from "pg";
import { startServer, type TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { TEST_JWT_SECRET, agentToken, userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, call, expectError, get, makeRoom, post, testPool, uniq } from "./client.js";

const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A token built by hand, so tests can send what jsonwebtoken refuses to sign. */
function handmade(header: object, claims: object, sign: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign(input)}`;
}

const hs256 = (key: string | Buffer) => (input: string) => createHmac("sha256", key).update(input).digest("base64url");
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("rest: errors", () => {
  let srv: TestServer;
  let db: pg.Pool;
  let roomId: string;
  const good = userToken("u_err", { name: "Err" });

  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
    db = testPool();
    roomId = await makeRoom(srv.url, good, "err");
  });
  after(async () => {
    await db?.end();
  });

  const messageCount = async () => Number((await db.query("SELECT count(*) AS n FROM city_room_messages WHERE room_id = $1", [roomId])).rows[0].n);

  describe("authentication", () => {
    const writes = (): [string, string, unknown][] => [
      ["POST", "/city/rooms", { name: "Nope", slug: `nope-${uniq()}` }],
      ["POST", `/city/rooms/${roomId}/messages`, { body: "nope" }],
      ["POST", `/city/rooms/${roomId}/join`, undefined],
      ["POST", `/city/rooms/${roomId}/leave`, undefined],
    ];

    it("refuses every write without a token with 401, at every prefix", async () => {
      for (const prefix of PREFIXES) {
        for (const [method, path, json] of writes()) {
          expectError(await call(srv.url, method, prefix + path, { json }), 401, "unauthorized");
        }
      }
      expect(await messageCount()).to.equal(0);
    });

    it("refuses malformed, expired, wrongly signed and unsigned tokens with 401 on writes (reads ignore them)", async () => {
      const claims = { sub: "u_mallory", exp: inAnHour() };
      const bad: Record<string, string> = {
        garbage: "not-a-token",
        threeParts: "a.b.c",
        truncated: good.slice(0, -5),
        expired: jwt.sign({ sub: "u_err", exp: Math.floor(Date.now() / 1000) - 60 }, TEST_JWT_SECRET, { algorithm: "HS256" }),
        wrongSecret: userToken("u_err", {}, "some-other-secret-of-enough-length"),
        algNone: handmade({ alg: "none", typ: "JWT" }, claims, () => ""),
        algNoneUpper: handmade({ alg: "NONE", typ: "JWT" }, claims, () => ""),
        algNoneSigned: handmade({ alg: "none", typ: "JWT" }, claims, hs256(TEST_JWT_SECRET)),
        hs512: jwt.sign(claims, TEST_JWT_SECRET, { algorithm: "HS512" }),
        tamperedClaims: (() => {
          const [h, , s] = good.split(".");
          return `${h}.${b64url({ sub: "u_admin", role: "admin", exp: inAnHour() })}.${s}`;
        })(),
        noSubject: jwt.sign({ name: "Nobody" }, TEST_JWT_SECRET, { algorithm: "HS256" }),
        notYetValid: jwt.sign({ sub: "u_err", nbf: Math.floor(Date.now() / 1000) + 600 }, TEST_JWT_SECRET, { algorithm: "HS256" }),
      };
      for (const [name, token] of Object.entries(bad)) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: `via ${name}` }, token);
        expectError(res, 401, "unauthorized");
        // On a public read a bad token counts as none; the challenge header says it was stale.
        const read = await get(srv.url, "/v1/city/rooms", token);
        expect(read.status, name).to.equal(200);
        expect(read.headers.get("www-authenticate"), name).to.equal('Bearer error="invalid_token"');
      }
      const expired = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "x" }, bad.expired);
      expect(expired.body.error.message).to.match(/expired/i);
      expect(await messageCount()).to.equal(0);
    });

    it("refuses an Authorization header that is not a Bearer token", async () => {
      for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", good, `Token ${good}`]) {
        const res = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { json: { body: "x" }, headers: { authorization: header } });
        expectError(res, 401, "unauthorized");
      }
      expect(await messageCount()).to.equal(0);
    });

    it("accepts a good token in any case of the scheme", async () => {
      const res = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { json: { body: "scheme" }, headers: { authorization: `bearer ${good}` } });
      expect(res.status).to.equal(201);
      await db.query("DELETE FROM city_room_messages WHERE id = $1", [res.body.id]);
    });

    describe("with an RS256 public key configured", () => {
      const pair = () =>
        generateKeyPairSync("rsa", {
          modulusLength: 2048,
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
        });
      let publicKey: string;
      let privateKey: string;
      let other: { privateKey: string };
      let rs: TestServer;
      let both: TestServer;
      let rsRoom: string;
      const rsCount = async () => Number((await db.query("SELECT count(*) AS n FROM city_room_messages WHERE room_id = $1", [rsRoom])).rows[0].n);
      before(async function () {
        this.timeout(120_000);
        rsRoom = await makeRoom(srv.url, good, "rs");
        ({ publicKey, privateKey } = pair());
        other = pair();
        rs = await startServer({ ...FUNCTIONAL_ENV, JWT_SECRET: "", JWT_PUBLIC_KEY: publicKey });
        both = await startServer({ ...FUNCTIONAL_ENV, JWT_PUBLIC_KEY: publicKey });
      });
      after(async () => {
        await rs?.stop();
        await both?.stop();
      });

      it("accepts a token signed with the matching private key", async () => {
        const token = jwt.sign({ sub: "u_rsa", name: "RSA" }, privateKey, { algorithm: "RS256", expiresIn: "1h" });
        for (const s of [rs, both]) {
          const res = await post(s.url, `/city/rooms/${rsRoom}/messages`, { body: "signed with RSA" }, token);
          expect(res.status, res.text).to.equal(201);
          expect(res.body).to.include({ author_user_id: "u_rsa", username: "RSA" });
        }
      });

      it("refuses HS256 signed with the PEM public key as the secret (algorithm confusion)", async () => {
        const before = await rsCount();
        const claims = { sub: "u_confused", role: "admin", exp: inAnHour() };
        const tokens = [
          handmade({ alg: "HS256", typ: "JWT" }, claims, hs256(publicKey)),
          handmade({ alg: "HS256", typ: "JWT" }, claims, hs256(publicKey.trim())),
          handmade({ alg: "HS384", typ: "JWT" }, claims, (i) => createHmac("sha384", publicKey).update(i).digest("base64url")),
        ];
        for (const s of [rs, both]) {
          for (const token of tokens) {
            expectError(await post(s.url, `/city/rooms/${rsRoom}/messages`, { body: "confused" }, token), 401, "unauthorized");
          }
        }
        expect(await rsCount()).to.equal(before);
      });

      it("refuses RS256 signed by another key, alg none, and HS256 when only the public key is configured", async () => {
        const foreign = jwt.sign({ sub: "u_x" }, other.privateKey, { algorithm: "RS256", expiresIn: "1h" });
        const none = handmade({ alg: "none" }, { sub: "u_x", exp: inAnHour() }, () => "");
        for (const token of [foreign, none, good]) {
          expectError(await post(rs.url, `/city/rooms/${rsRoom}/messages`, { body: "x" }, token), 401, "unauthorized");
        }
        // With both keys configured the HS256 secret still works.
        const ok = await post(both.url, `/city/rooms/${rsRoom}/messages`, { body: "hs on both" }, good);
        expect(ok.status).to.equal(201);
      });
    });
  });

  describe("request bodies", () => {
    it("answers 400 invalid_json for malformed JSON at every prefix", async () => {
      for (const prefix of PREFIXES) {
        for (const raw of ["{", "{body: 'x'}", '{"body": "x",}', "nul", '{"body": "x"} trailing']) {
          expectError(await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/messages`, { raw, token: good }), 400, "invalid_json");
          expectError(await call(srv.url, "POST", `${prefix}/city/rooms`, { raw, token: good }), 400, "invalid_json");
        }
      }
      expect(await messageCount()).to.equal(0);
    });

    it("answers 400 with the offending field for wrong types", async () => {
      const cases: [string, unknown, string][] = [
        [`/city/rooms/${roomId}/messages`, { body: 123 }, "body"],
        [`/city/rooms/${roomId}/messages`, { body: ["a"] }, "body"],
        [`/city/rooms/${roomId}/messages`, { body: { nested: true } }, "body"],
        [`/city/rooms/${roomId}/messages`, { text: false }, "text"],
        [`/city/rooms/${roomId}/messages`, { data: { body: 5 } }, "data.body"],
        [`/city/rooms/${roomId}/messages`, { body: "ok", client_message_id: 42 }, "client_message_id"],
        [`/city/rooms/${roomId}/messages`, { body: "ok", client_message_id: "has space" }, "client_message_id"],
        [`/city/rooms/${roomId}/messages`, { body: "ok", client_message_id: "c".repeat(129) }, "client_message_id"],
        [`/city/rooms/${roomId}/messages`, {}, "body"],
        [`/city/rooms/${roomId}/messages`, { body: null }, "body"],
        ["/city/rooms", { name: ["x"], slug: "arr-name" }, "name"],
        ["/city/rooms", { name: "x", slug: true }, "slug"],
      ];
      for (const prefix of PREFIXES) {
        for (const [path, json, field] of cases) {
          const err = expectError(await post(srv.url, prefix + path, json, good), 400, "validation_failed");
          expect(err.field, JSON.stringify(json)).to.equal(field);
          expect(err.message).to.include(field);
        }
      }
      expect(await messageCount()).to.equal(0);
    });

    it("answers 400 for a JSON body that is not an object", async () => {
      for (const raw of ["[]", '"just a string"', "42", "null", "true"]) {
        const res = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw, token: good });
        expectError(res, 400);
      }
      expect(await messageCount()).to.equal(0);
    });

    it("answers 400 for empty, whitespace-only and over-long (4001 characters) bodies", async () => {
      for (const body of ["", " ", "\n\n", "\u3000\u00a0", "a".repeat(4001), "ї".repeat(4001)]) {
        const err = expectError(await post(srv.url, `/city/rooms/${roomId}/messages`, { body }, good), 400, "validation_failed");
        expect(err.field).to.equal("body");
      }
      expect(await messageCount()).to.equal(0);
    });

    it("answers 413 for a request body over 64kb, at every prefix", async () => {
      const huge = JSON.stringify({ body: "x".repeat(70 * 1024) });
      for (const prefix of PREFIXES) {
        expectError(await call(srv.url, "POST", `${prefix}/city/rooms/${roomId}/messages`, { raw: huge, token: good }), 413, "payload_too_large");
        expectError(await call(srv.url, "POST", `${prefix}/city/rooms`, { raw: huge, token: good }), 413, "payload_too_large");
      }
      expect(await messageCount()).to.equal(0);
    });

    it("answers 400 (never 500) for a request body that is not JSON at all", async () => {
      const res = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw: "body=hello", token: good, headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(res.status).to.be.within(400, 415);
      expectError(res, res.status);
      const plain = await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw: "hello", token: good, headers: { "content-type": "text/plain" } });
      expect(plain.status).to.be.within(400, 415);
      expectError(plain, plain.status);
      expect(await messageCount()).to.equal(0);
    });
  });

  describe("unknown things", () => {
    it("answers 404 for an unknown room on every room route and prefix", async () => {
      for (const prefix of PREFIXES) {
        const base = `${prefix}/city/rooms/room_city_does-not-exist`;
        expectError(await get(srv.url, base), 404);
        expectError(await get(srv.url, `${base}/messages`), 404);
        expectError(await post(srv.url, `${base}/messages`, { body: "x" }, good), 404);
        expectError(await call(srv.url, "POST", `${base}/join`, { token: good }), 404);
        expectError(await call(srv.url, "POST", `${base}/leave`, { token: good }), 404);
      }
    });

    it("answers 404 JSON for an unknown path and a JSON error for a wrong method", async () => {
      for (const prefix of PREFIXES) {
        expectError(await get(srv.url, `${prefix}/city/nowhere`), 404, "not_found");
      }
      expectError(await get(srv.url, "/v2/city/rooms"), 404, "not_found");
      for (const [method, path] of [["DELETE", "/city/rooms"], ["PUT", `/city/rooms/${roomId}/messages`], ["PATCH", "/v1/city/feed"]] as const) {
        const res = await call(srv.url, method, path, { token: good, json: {} });
        expectError(res, 405, "method_not_allowed");
        expect(res.headers.get("allow")).to.include("GET");
      }
    });
  });

  describe("query parameters", () => {
    it("refuses limit 0 and abc on the room list and history, reads 201 as the maximum; offset must be a whole number", async () => {
      for (const prefix of PREFIXES) {
        for (const path of ["/city/rooms", `/city/rooms/${roomId}/messages`]) {
          for (const limit of ["0", "abc", "-1", "2.5", "%00"]) {
            const err = expectError(await get(srv.url, `${prefix}${path}?limit=${limit}`), 400, "validation_failed");
            expect(err.field).to.equal("limit");
          }
          for (const limit of ["200", "201", "100000"]) expect((await get(srv.url, `${prefix}${path}?limit=${limit}`)).status).to.equal(200);
        }
        for (const offset of ["-1", "x", "1.5"]) {
          expect(expectError(await get(srv.url, `${prefix}/city/rooms?offset=${offset}`), 400).field).to.equal("offset");
        }
      }
    });

    it("refuses limit 0 and abc on the feed, and reads 101 as 100", async () => {
      for (const limit of ["0", "abc"]) {
        expect(expectError(await get(srv.url, `/api/city/feed?limit=${limit}`), 400).field).to.equal("limit");
      }
      const capped = await get(srv.url, "/api/city/feed?limit=101");
      expect(capped.status).to.equal(200);
      expect(capped.body.length).to.be.at.most(100);
    });
  });

  it("never answers 500 or leaks internals for hostile path segments", async () => {
    const segments = ["%00", "..%2F..%2Fetc%2Fpasswd", "room_city_%27%3B%20DROP%20TABLE%20city_rooms%3B--", "x".repeat(2000), "%F0%9F%8F%99", "%E0%A4%A"];
    for (const s of segments) {
      for (const path of [`/city/rooms/${s}`, `/city/rooms/${s}/messages`]) {
        const res = await get(srv.url, path);
        expect(res.status, `${path.slice(0, 60)} ${res.text.slice(0, 200)}`).to.be.within(400, 499);
        expectError(res, res.status);
      }
      const w = await post(srv.url, `/city/rooms/${s}/messages`, { body: "x" }, good);
      expect(w.status).to.be.within(400, 499);
      expectError(w, w.status);
    }
  });

  it("gives agents and users the same validation", async () => {
    const err = expectError(await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "" }, agentToken("ag_err")), 400, "validation_failed");
    expect(err.field).to.equal("body");
  });
});
