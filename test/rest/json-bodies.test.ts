// JSON bodies that do not say so (CONTRACT §6, §10): `fetch(url, {method: "POST", body:
// JSON.stringify(x)})` without a Content-Type sends text/plain;charset=UTF-8, `curl -d` sends a form
// type. Such a body that parses as JSON is taken as application/json on every JSON route; one that
// does not, and any other content type, is 415 naming Content-Type: application/json; a write
// without a body says a JSON body is required (not "body: expected object"); 413 holds for all.
import http from "node:http";
import { expect } from "chai";
import type pg from "pg";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, call, expectError, makeRoom, testPool, uniq, type Res } from "./client.js";

describe("rest: JSON bodies without application/json", () => {
  let srv: TestServer;
  let db: pg.Pool;
  let roomId: string;
  const token = userToken("u_bodies", { name: "Bodies" });
  const bearer = { authorization: `Bearer ${token}` };

  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
    db = testPool();
    roomId = await makeRoom(srv.url, token, "bodies");
  });
  after(async () => {
    await db?.end();
  });

  const messageCount = async () => Number((await db.query("SELECT count(*) AS n FROM city_room_messages WHERE room_id = $1", [roomId])).rows[0].n);

  /** What a browser or Node `fetch` sends for a string body without headers. */
  async function fetchPost(path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Res> {
    const res = await fetch(srv.url + path, { method: "POST", headers: { ...bearer, ...headers }, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: /json/.test(res.headers.get("content-type") ?? "") && text ? JSON.parse(text) : undefined };
  }

  /** A POST with a body and no Content-Type header at all (fetch always adds one). */
  function postWithoutType(path: string, body: string): Promise<Res> {
    const url = new URL(srv.url + path);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", agent: false, headers: { ...bearer, "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), text, body: text ? JSON.parse(text) : undefined }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("takes a text/plain body that parses as JSON like application/json, on every prefix", async () => {
    for (const prefix of PREFIXES) {
      const res = await fetchPost(`${prefix}/city/rooms/${roomId}/messages`, JSON.stringify({ body: `plain ${prefix || "/"}` }));
      expect(res.status, res.text).to.equal(201);
      expect(res.body).to.include({ body: `plain ${prefix || "/"}`, room_id: roomId });
    }
    // The same validation, idempotency and the other JSON routes.
    const cmid = `plain-${uniq()}`;
    const first = await fetchPost(`/city/rooms/${roomId}/messages`, JSON.stringify({ text: "once", client_message_id: cmid }));
    const again = await fetchPost(`/city/rooms/${roomId}/messages`, JSON.stringify({ text: "once", client_message_id: cmid }));
    expect([first.status, again.status]).to.deep.equal([201, 200]);
    expect(again.body.id).to.equal(first.body.id);
    const nested = await fetchPost(`/v1/city/rooms/${roomId}/messages`, JSON.stringify({ data: { body: "nested" } }));
    expect(nested.status, nested.text).to.equal(201);
    expect(expectError(await fetchPost(`/city/rooms/${roomId}/messages`, JSON.stringify({ body: "  " })), 400, "validation_failed").field).to.equal("body");
    const slug = `plain-${uniq()}${uniq()}`;
    const room = await fetchPost("/city/rooms", JSON.stringify({ name: "Plain room", slug }));
    expect(room.status, room.text).to.equal(201);
    expect(room.body.id).to.equal(`room_city_${slug}`);
    // Second Me's body is read too: the prompt is what is missing, not the body.
    expect(expectError(await fetchPost("/secondme/invoke", JSON.stringify({ prompt: "" })), 400, "validation_failed").field).to.equal("prompt");
    expect((await fetchPost(`/city/rooms/${roomId}/join`, "{}")).status).to.equal(204);
    expect(await messageCount()).to.equal(5);
  });

  it("takes a form-typed body (curl -d) and a body with no Content-Type at all when they parse as JSON", async () => {
    const before = await messageCount();
    const form = await fetchPost(`/city/rooms/${roomId}/messages`, JSON.stringify({ body: "curl -d" }), { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status, form.text).to.equal(201);
    const bare = await postWithoutType(`/api/city/rooms/${roomId}/messages`, JSON.stringify({ body: "no content type" }));
    expect(bare.status, bare.text).to.equal(201);
    expect(bare.body.body).to.equal("no content type");
    expect(await messageCount()).to.equal(before + 2);
  });

  it("answers 415 unsupported_media_type naming Content-Type: application/json for a body that is not JSON", async () => {
    const before = await messageCount();
    const cases: [string, Record<string, string>][] = [
      ["hello", {}], // text/plain from fetch
      ["body=hello", { "content-type": "application/x-www-form-urlencoded" }],
      ["<body>hello</body>", { "content-type": "application/xml" }],
      ["--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhello\r\n--x--", { "content-type": "multipart/form-data; boundary=x" }],
      ['{"body":"octets"}', { "content-type": "application/octet-stream" }],
      ['{"body":"nonsense type"}', { "content-type": "nonsense" }],
    ];
    for (const prefix of PREFIXES) {
      for (const [body, headers] of cases) {
        for (const path of [`${prefix}/city/rooms/${roomId}/messages`, `${prefix}/city/rooms`, `${prefix}/secondme/invoke`]) {
          const err = expectError(await fetchPost(path, body, headers), 415, "unsupported_media_type");
          expect(err.message, `${path} ${JSON.stringify(headers)}`).to.include("Content-Type: application/json");
          expect(err.field).to.equal(undefined);
        }
      }
    }
    const bare = expectError(await postWithoutType(`/city/rooms/${roomId}/messages`, "just words"), 415, "unsupported_media_type");
    expect(bare.message).to.include("Content-Type: application/json");
    expect(await messageCount()).to.equal(before);
  });

  it("keeps 400 invalid_json for malformed application/json and 413 for every oversized body", async () => {
    const before = await messageCount();
    expectError(await call(srv.url, "POST", `/city/rooms/${roomId}/messages`, { raw: '{"body": "x",}', token }), 400, "invalid_json");
    const huge = JSON.stringify({ body: "x".repeat(70 * 1024) });
    for (const headers of [{ "content-type": "application/json" }, {}, { "content-type": "application/x-www-form-urlencoded" }] as Record<string, string>[]) {
      expectError(await fetchPost(`/city/rooms/${roomId}/messages`, huge, headers), 413, "payload_too_large");
    }
    expectError(await fetchPost(`/city/rooms/${roomId}/messages`, "y".repeat(70 * 1024)), 413, "payload_too_large");
    // A __proto__ key is refused as JSON, whichever type the body came with.
    for (const headers of [{ "content-type": "application/json" }, {}] as Record<string, string>[]) {
      expectError(await fetchPost(`/city/rooms/${roomId}/messages`, '{"__proto__": {"body": "polluted"}, "body": "p"}', headers), 400, "invalid_json");
    }
    expect(await messageCount()).to.equal(before);
  });

  it("says a JSON body is required when a write has none, and names a body that is not an object, without a field", async () => {
    const before = await messageCount();
    for (const prefix of PREFIXES) {
      for (const path of [`${prefix}/city/rooms/${roomId}/messages`, `${prefix}/city/rooms`, `${prefix}/secondme/invoke`]) {
        for (const headers of [{}, { "content-type": "application/json" }] as Record<string, string>[]) {
          const err = expectError(await fetchPost(path, undefined, headers), 400, "validation_failed");
          expect(err.message, path).to.match(/^A JSON body is required/);
          expect(err.message).to.include("Content-Type: application/json");
          expect(err.field, path).to.equal(undefined);
        }
        const empty = expectError(await fetchPost(path, "", { "content-type": "application/json" }), 400, "validation_failed");
        expect(empty.message).to.match(/^A JSON body is required/);
      }
    }
    for (const [raw, what] of [["[]", "an array"], ['"text"', "a string"], ["42", "a number"], ["null", "null"]] as const) {
      for (const headers of [{ "content-type": "application/json" }, {}] as Record<string, string>[]) {
        const err = expectError(await fetchPost(`/city/rooms/${roomId}/messages`, raw, headers), 400, "validation_failed");
        expect(err.message).to.equal(`The request body must be a JSON object, not ${what}`);
        expect(err.field).to.equal(undefined);
      }
    }
    // Routes that need no body still answer without one.
    expect((await fetchPost(`/city/rooms/${roomId}/join`, undefined)).status).to.equal(204);
    expect((await fetchPost(`/city/rooms/${roomId}/leave`, undefined, { "content-type": "application/json" })).status).to.equal(204);
    expect(await messageCount()).to.equal(before);
  });
});
