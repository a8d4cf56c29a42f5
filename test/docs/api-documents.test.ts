// The API documents cannot drift: every route the routers mount and every event of the protocol
// module is in them, every documented route is mounted, and the server serves what the builders
// produce. The routers are found the way the app finds them: every create*Router that src/app.ts
// imports, and every one exported from src/http/routes/ (wired or not yet).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import asyncApiSpecs from "@asyncapi/specs";
import { Validator as OpenApiValidator } from "@seriousme/openapi-schema-validator";
import type Router from "@koa/router";
import { buildOpenApi } from "../../src/docs/openapi.js";
import { buildAsyncApi, CHANNELS } from "../../src/docs/asyncapi.js";
import { REST_OPERATIONS, openApiPath } from "../../src/docs/rest-catalog.js";
import { packageVersion } from "../../src/docs/docs-routes.js";
import {
  COMMON_OUTBOUND,
  PRESENCE_INBOUND,
  PRESENCE_OUTBOUND,
  ROOM_INBOUND,
  ROOM_OUTBOUND,
  SECONDME_OUTBOUND,
  eventName,
} from "../../src/realtime/protocol/index.js";
import { busEnvelope, ROOM_EVENTS_CHANNEL } from "../../src/realtime/bus/index.js";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { api, freshRoom } from "../support/api.js";
import { userToken } from "../support/tokens.js";
import { SioClient, WsClient, type Recorded } from "../support/clients.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Stands in for any dependency: every property and call returns itself. Route handlers are never
 *  run here; factories only keep their dependencies for later. */
const stub: unknown = new Proxy(function () {}, {
  get: (_t, p) => (p === "then" ? undefined : stub),
  apply: () => stub,
});

type Factory = (...args: unknown[]) => Router;

async function factoriesIn(file: string, names?: readonly string[]): Promise<Map<string, Factory>> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const out = new Map<string, Factory>();
  for (const [name, value] of Object.entries(mod)) {
    if (/^create\w*Router$/.test(name) && typeof value === "function" && (!names || names.includes(name))) out.set(name, value as Factory);
  }
  return out;
}

/** Router factories imported by the composition root, and those of src/http/routes/. */
async function routerFactories(): Promise<Map<string, Factory>> {
  const all = new Map<string, Factory>();
  const app = await readFile(path.join(ROOT, "src/app.ts"), "utf8");
  for (const m of app.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(\.[^"]+)"/g)) {
    const names = m[1]!.split(",").map((s) => s.replace(/^\s*type\s+/, "").trim()).filter((n) => /^create\w*Router$/.test(n));
    if (!names.length) continue;
    const file = path.resolve(ROOT, "src", m[2]!.replace(/\.js$/, ".ts"));
    for (const [k, v] of await factoriesIn(file, names)) all.set(k, v);
  }
  const dir = path.join(ROOT, "src/http/routes");
  for (const f of (await readdir(dir)).filter((f) => f.endsWith(".ts"))) {
    for (const [k, v] of await factoriesIn(path.join(dir, f))) all.set(k, v);
  }
  return all;
}

interface MountedRoute {
  readonly key: string;
  readonly router: string;
}

async function mountedRoutes(): Promise<MountedRoute[]> {
  const out: MountedRoute[] = [];
  for (const [name, factory] of await routerFactories()) {
    // The console router would build the bundle at once; the stub config has no env, so it would
    // also offer dev tokens: neither matters for the route list.
    const router = factory(stub, stub, stub);
    for (const layer of router.stack) {
      for (const method of layer.methods) {
        if (method === "HEAD") continue; // answered by GET
        // The router's `:roomId` is documented as the contract's `{room_id}`.
        out.push({ key: `${method} ${openApiPath(String(layer.path))}`, router: name });
      }
    }
  }
  return out;
}

describe("API documents", function () {
  const openapi = buildOpenApi({ version: "test" }) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  const asyncapi = buildAsyncApi({ version: "test" }) as {
    asyncapi: string;
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
    components: { messages: Record<string, { name: string; title: string; payload: unknown }> };
    operations: Record<string, { action: string; channel: { $ref: string } }>;
  };
  const documented = new Set(Object.entries(openapi.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));

  describe("OpenAPI", function () {
    it("is OpenAPI 3.1 with every $ref resolving inside the document", function () {
      expect(openapi.openapi).to.equal("3.1.0");
      for (const ref of JSON.stringify(openapi).matchAll(/"\$ref":"([^"]+)"/g)) {
        const target = ref[1]!.slice(2).split("/").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/")], openapi);
        expect(target, `unresolved ${ref[1]}`).to.not.equal(undefined);
      }
    });

    it("is valid against the OpenAPI 3.1 schema", async function () {
      const res = await new OpenApiValidator().validate(structuredClone(openapi));
      expect(res.errors ?? [], JSON.stringify(res.errors)).to.deep.equal([]);
      expect(res.valid).to.equal(true);
    });

    it("documents every route that a router mounts", async function () {
      this.timeout(30_000);
      const mounted = await mountedRoutes();
      expect(mounted.length).to.be.greaterThan(15);
      const missing = mounted.filter((r) => !documented.has(r.key)).map((r) => `${r.key} (${r.router})`);
      expect(missing, `routes missing from the OpenAPI document; describe them in src/docs/rest-catalog.ts`).to.deep.equal([]);
    });

    it("documents no route that no router mounts (bar the board, mounted as middleware)", async function () {
      this.timeout(30_000);
      const mounted = new Set((await mountedRoutes()).map((r) => r.key));
      const extra = [...documented].filter((k) => !mounted.has(k) && k !== "GET /admin/queues");
      expect(extra, "documented but not mounted").to.deep.equal([]);
    });

    it("names the room paths and their parameter as the contract does: {room_id}", function () {
      const rooms = Object.keys(openapi.paths).filter((p) => p.startsWith("/city/rooms/"));
      expect(rooms.sort()).to.deep.equal(["/city/rooms/{room_id}", "/city/rooms/{room_id}/join", "/city/rooms/{room_id}/leave", "/city/rooms/{room_id}/messages"]);
      for (const p of rooms) {
        for (const op of Object.values(openapi.paths[p]!) as { parameters: { name: string; in: string; required: boolean }[] }[]) {
          expect(op.parameters.filter((x) => x.in === "path"), p).to.deep.equal([{ name: "room_id", in: "path", required: true, description: "The room id, room_city_<slug>", schema: { type: "string" } }]);
        }
      }
      expect(JSON.stringify(openapi)).to.not.include("roomId");
      expect(openApiPath("/city/rooms/:roomId/messages")).to.equal("/city/rooms/{room_id}/messages");
    });

    it("derives input rules from the route schemas: query integers, text lengths in characters", function () {
      const list = openapi.paths["/city/rooms"]!.get as { parameters: { name: string; schema: Record<string, unknown> }[] };
      expect(list.parameters.find((p) => p.name === "limit")!.schema).to.deep.equal({ type: "integer", default: 50, minimum: 1, maximum: 200 });
      const feed = openapi.paths["/city/feed"]!.get as { parameters: { name: string; schema: Record<string, unknown> }[] };
      expect(feed.parameters.find((p) => p.name === "limit")!.schema).to.include({ default: 20, minimum: 1, maximum: 100 });
      const s = openapi.components.schemas as Record<string, { properties: Record<string, Record<string, unknown>> }>;
      expect(s.CreateRoomInput!.properties.name).to.include({ minLength: 1, maxLength: 100 });
      expect(s.MessageInput!.properties.body).to.include({ minLength: 1, maxLength: 4000 });
      expect(s.InvokeInput!.properties.prompt).to.include({ minLength: 1, maxLength: 8000 });
    });
  });

  describe("AsyncAPI", function () {
    /** Message keys read `<transport>.<in|out>.<event>`. */
    const channelMessages = (id: string, dir: "in" | "out") =>
      Object.values(asyncapi.channels[id]!.messages)
        .map((ref) => ref.$ref.split("/").pop()!)
        .filter((k) => k.split(".")[1] === dir)
        .map((k) => asyncapi.components.messages[k]!);

    it("is AsyncAPI 3.0 with every $ref resolving inside the document", function () {
      expect(asyncapi.asyncapi).to.equal("3.0.0");
      for (const ref of JSON.stringify(asyncapi).matchAll(/"\$ref":"([^"]+)"/g)) {
        const target = ref[1]!.slice(2).split("/").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], asyncapi);
        expect(target, `unresolved ${ref[1]}`).to.not.equal(undefined);
      }
    });

    it("is valid against the AsyncAPI 3.0.0 schema", function () {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
      const validate = ajv.compile(asyncApiSpecs.schemasWithoutId["3.0.0"] as object);
      expect(validate({ asyncapi: "3.0.0" }), "the validator refuses an empty document").to.equal(false);
      const ok = validate(asyncapi);
      expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5))).to.deep.equal([]);
      expect(ok).to.equal(true);
    });

    it("has a channel for every namespace and raw-ws path, in both dialects", function () {
      const addresses = Object.values(asyncapi.channels).map((c) => c.address).sort();
      expect(addresses).to.deep.equal(["/city/presence", "/city/rooms", "/v1/ws/city/presence", "/v1/ws/city/rooms/{room_id}", "/ws/city/presence", "/ws/city/rooms/{room_id}", ROOM_EVENTS_CHANNEL]);
    });

    it("documents the room-event bus with the envelope the bus validates", function () {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(asyncapi as object, "asyncapi.json");
      const validate = ajv.compile({ $ref: "asyncapi.json#/components/messages/bus.roomEvent/payload" });
      const envelope = { origin: "host:1:ab", event: { event: "room.join", room_id: "room_city_general", user_id: "u_a" } };
      expect(busEnvelope.safeParse(envelope).success).to.equal(true);
      expect(validate(envelope), JSON.stringify(validate.errors)).to.equal(true);
      const wrong = { origin: "host:1:ab", event: { event: "room.join", room_id: "room_city_general" } };
      expect(busEnvelope.safeParse(wrong).success).to.equal(false);
      expect(validate(wrong)).to.equal(false);
    });

    it("documents every inbound event of ROOM_INBOUND and PRESENCE_INBOUND on each of its channels", function () {
      for (const spec of CHANNELS) {
        const events = spec.id.startsWith("rooms") ? Object.keys(ROOM_INBOUND) : Object.keys(PRESENCE_INBOUND);
        const titles = channelMessages(spec.id, "in").map((m) => m.title);
        for (const e of events) expect(titles, `${spec.id} lacks inbound ${e}`).to.include(e);
      }
    });

    it("documents every outbound event, under the name each dialect uses", function () {
      const user = [...Object.keys(SECONDME_OUTBOUND), ...Object.keys(COMMON_OUTBOUND)];
      for (const spec of CHANNELS) {
        const events = [...(spec.id.startsWith("rooms") ? Object.keys(ROOM_OUTBOUND) : Object.keys(PRESENCE_OUTBOUND)), ...user];
        const out = channelMessages(spec.id, "out");
        for (const e of events) {
          const wireName = spec.transport === "ws" ? eventName(spec.dialect, e) : e;
          const m = out.find((x) => x.title === e);
          expect(m, `${spec.id} lacks outbound ${e}`).to.not.equal(undefined);
          expect(m!.name).to.equal(wireName);
        }
      }
      // The v1 dialect really renames room events (so the check above is not vacuous).
      expect(eventName("v1", "room.message")).to.equal("city.room.message");
    });

    it("has a receive operation for each inbound and a send operation for each outbound message", function () {
      for (const [id, ch] of Object.entries(asyncapi.channels)) {
        const ops = Object.values(asyncapi.operations).filter((o) => o.channel.$ref === `#/channels/${id}`);
        expect(ops.length, id).to.equal(Object.keys(ch.messages).length);
      }
    });
  });

  describe("served by the real server", function () {
    let server: TestServer;
    const served = { openapi: buildOpenApi({ version: packageVersion() }), asyncapi: buildAsyncApi({ version: packageVersion() }) };
    before(async function () {
      this.timeout(60_000);
      server = await sharedServer();
    });

    for (const prefix of ["", "/api", "/v1"]) {
      it(`serves ${prefix}/openapi.json and ${prefix}/asyncapi.json as built from the schemas`, async function () {
        const o = await fetch(`${server.url}${prefix}/openapi.json`);
        expect(o.status).to.equal(200);
        expect(o.headers.get("content-type")).to.match(/application\/json/);
        expect(await o.json()).to.deep.equal(served.openapi);
        const a = await fetch(`${server.url}${prefix}/asyncapi.json`);
        expect(a.status).to.equal(200);
        expect(await a.json()).to.deep.equal(served.asyncapi);
      });
    }

    it("describes what the server really answers (responses validate against the documented schemas)", async function () {
      this.timeout(30_000);
      const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(served.openapi as object, "openapi.json");
      /** The documented JSON schema of a response: `GET /city/rooms` 200. */
      const check = (method: string, p: string, status: number, body: unknown, valid = true) => {
        const doc = (served.openapi as typeof openapi).paths[p]![method.toLowerCase()] as { responses: Record<string, { content?: Record<string, { schema: unknown }>; $ref?: string }> };
        const r = doc.responses[String(status)]!;
        const ref = r.$ref ? `openapi.json${r.$ref}/content/application~1json/schema` : `openapi.json#/paths/${p.replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
        const validate = ajv.compile({ $ref: ref });
        expect(validate(body), `${method} ${p} ${status}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).to.equal(valid);
      };
      check("GET", "/city/rooms", 200, [{ id: 1 }], false); // the check can fail
      const token = userToken(`u_docs_${process.pid}`, { name: "Docs" });
      const roomId = await freshRoom(server.url, token, "docs");
      const posted = await api(server.url, "POST", `/city/rooms/${roomId}/messages`, { token, body: { body: "documented", client_message_id: `docs-${Date.now()}` } });
      check("POST", "/city/rooms/{room_id}/messages", 201, posted.body);
      check("GET", "/city/rooms", 200, (await api(server.url, "GET", "/city/rooms")).body);
      check("GET", "/city/rooms/{room_id}", 200, (await api(server.url, "GET", `/city/rooms/${roomId}`)).body);
      check("GET", "/city/rooms/{room_id}/messages", 200, (await api(server.url, "GET", `/city/rooms/${roomId}/messages`)).body);
      check("GET", "/city/feed", 200, (await api(server.url, "GET", "/city/feed")).body);
      check("GET", "/city/presence", 200, (await api(server.url, "GET", "/city/presence?user_ids=u_a,u_b")).body);
      check("GET", "/secondme/profile", 200, (await api(server.url, "GET", "/secondme/profile", { token })).body);
      check("GET", "/secondme/history", 200, (await api(server.url, "GET", "/v1/secondme/history", { token })).body);
      check("GET", "/healthz", 200, (await api(server.url, "GET", "/healthz")).body);
      check("GET", "/readyz", 200, (await api(server.url, "GET", "/readyz")).body);
      check("POST", "/console/dev-token", 200, (await api(server.url, "POST", "/console/dev-token", { body: { user_id: "u_docs" } })).body);
      const unknown = await api(server.url, "GET", "/city/rooms/room_city_nope-nope");
      check("GET", "/city/rooms/{room_id}", 404, unknown.body);
      const bad = await api(server.url, "POST", "/city/rooms", { token, body: { name: "" } });
      check("POST", "/city/rooms", 400, bad.body);
    });

    it("describes the events the server really sends, on both transports and in both dialects", async function () {
      this.timeout(30_000);
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(served.asyncapi as object, "asyncapi.json");
      const check = (key: string, ev: Recorded) => {
        const validate = ajv.compile({ $ref: `asyncapi.json#/components/messages/${key}/payload` });
        expect(validate(ev), `${key}: ${JSON.stringify(validate.errors?.slice(0, 3))} in ${JSON.stringify(ev)}`).to.equal(true);
      };
      const token = userToken(`u_docs_rt_${process.pid}`);
      const roomId = await freshRoom(server.url, token, "docs-rt");
      const sio = await SioClient.connect(server.url, "/city/rooms", { token });
      const v1 = await WsClient.connect(server.url, `/v1/ws/city/rooms/${roomId}`, { token });
      const presence = await WsClient.connect(server.url, "/ws/city/presence", { token });
      try {
        await sio.emitAck("room.join", { room_id: roomId });
        await v1.waitFor((e) => e.event === "city.room.join");
        const ack = await sio.emitAck("room.message.send", { room_id: roomId, body: "described", client_message_id: `docs-rt-${Date.now()}` });
        check("sio.out.room.message.ack", ack);
        check("sio.out.room.message", await sio.waitFor((e) => e.event === "room.message"));
        check("wsv1.out.room.message", await v1.waitFor((e) => e.event === "city.room.message"));
        check("wsv1.out.room.join", await v1.waitFor((e) => e.event === "city.room.join"));
        v1.send({ event: "room.message.send", room_id: roomId, body: "" });
        check("wsv1.out.error", await v1.waitFor((e) => e.event === "error"));
        check("ws.out.presence.bulk_update", await presence.waitFor((e) => e.event === "presence.bulk_update"));
        presence.send({ event: "presence.heartbeat" });
        check("ws.out.presence.update", await presence.waitFor((e) => e.event === "presence.update"));
      } finally {
        sio.close();
        v1.close();
        presence.close();
      }
    });

    it("answers every documented operation (none is a 404 for a missing route, or a 405)", async function () {
      this.timeout(60_000);
      const misses: string[] = [];
      for (const op of REST_OPERATIONS) {
        // Without a token: reads answer, writes are refused with 401, nothing is changed.
        const url = `${server.url}${op.path.replace("{room_id}", "room_city_general")}`;
        const res = await fetch(url, { method: op.method, redirect: "manual", headers: op.method === "POST" ? { "content-type": "application/json" } : {}, body: op.method === "POST" ? "{}" : undefined });
        const text = await res.text();
        const noRoute = res.status === 404 && /No route for/.test(text);
        if (noRoute || res.status === 405) misses.push(`${op.method} ${op.path} → ${res.status} ${text.slice(0, 120)}`);
      }
      expect(misses).to.deep.equal([]);
    });
  });
});
