// A seeded fuzzer against every REST route, at every prefix: random and mutated JSON, raw bodies
// that are not JSON or not UTF-8, wrong content types and methods, hostile path ids and query
// strings, and good and bad tokens. Asserts: never a 5xx; every error is the JSON error shape; the
// database changed exactly by the accepted writes (rejected input wrote nothing); no prototype was
// polluted (a `{}` body is still refused everywhere); no worker crashed or was replaced.
// Replay a run with FUZZ_SEED=<seed printed below>; scale it with FUZZ_CASES.
import { expect } from "chai";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { startServer, type TestServer } from "../support/server.js";
import { freshRoom } from "../support/api.js";
import { agentToken, userToken } from "../support/tokens.js";
import { rowCounts, sql, workerPids } from "../faults/support.js";
import { HOSTILE_IDS, HOSTILE_STRINGS, Prng, RAW_BODIES, badTokens, fuzzCases, fuzzSeed, mutate, randomAscii, randomJson } from "./fuzz.js";

interface Case {
  readonly n: number;
  readonly method: string;
  readonly url: string;
  readonly route: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

interface Outcome {
  readonly c: Case;
  readonly status: number;
  readonly text: string;
  readonly type: string;
}

const CLEAR_USER = "u_fz_clear";

/** Percent-encodes; a lone surrogate (not encodable) goes as its raw, invalid UTF-8 bytes. */
const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return "%ED%A0%80" + encodeURIComponent(s.toWellFormed());
  }
};

describe("hostile: REST fuzzer", function () {
  this.timeout(90_000);
  const run = Math.random().toString(36).slice(2, 8);
  let standin: AgentsCoreStandin;
  let srv: TestServer;
  let room: string;
  const tokens = {
    a: userToken(`u_fz_a_${run}`, { name: "Fuzz A" }),
    b: userToken(`u_fz_b_${run}`),
    agent: agentToken(`ag_fz_${run}`),
    clear: userToken(CLEAR_USER),
  };
  const bad = Object.values(badTokens());

  before(async function () {
    this.timeout(60_000);
    standin = await startAgentsCoreStandin({ port: 0 });
    srv = await startServer({
      AGENTS_CORE_URL: standin.url,
      BULLMQ_PREFIX: `city:test:${run}:bull`,
      // Limits are proven elsewhere; here every case must reach the validators.
      RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
      RATE_LIMIT_MESSAGES_PER_SEC: "100000",
      RATE_LIMIT_MESSAGES_BURST: "1000000",
      RATE_LIMIT_USER_WRITES_PER_SEC: "100000",
      RATE_LIMIT_USER_WRITES_BURST: "1000000",
      RATE_LIMIT_IP_WRITES_PER_SEC: "100000",
      RATE_LIMIT_IP_WRITES_BURST: "1000000",
    });
    room = await freshRoom(srv.url, tokens.a, "fz");
  });
  after(async function () {
    this.timeout(30_000);
    await srv?.stop();
    await standin?.close();
  });

  /** Deterministic cases from the seed. */
  function cases(r: Prng, count: number): Case[] {
    const out: Case[] = [];
    const roomId = () => (r.chance(0.6) ? room : r.chance(0.5) ? "room_city_general" : r.pick(HOSTILE_IDS));
    const query = () => {
      if (r.chance(0.4)) return "";
      const keys = ["limit", "offset", "before", "after", "user_ids", r.pick(["__proto__", "constructor", "x"])];
      const parts: string[] = [];
      for (let i = 1 + r.int(3); i > 0; i--) {
        const v = r.chance(0.5) ? r.pick(["-1", "0", "1", "50", "201", "1e309", "0x10", " 5", "abc", ""]) : enc(r.pick(HOSTILE_STRINGS).slice(0, 300));
        parts.push(`${r.pick(keys)}=${v}`);
      }
      return `?${parts.join("&")}`;
    };
    const routes: { method: string; path: () => string; valid?: () => Record<string, unknown>; route: string }[] = [
      { method: "GET", route: "rooms.list", path: () => `/city/rooms${query()}` },
      { method: "POST", route: "rooms.create", path: () => "/city/rooms", valid: () => ({ name: `Fuzz ${r.int(1e9)}`, slug: `fz-${run}-${r.int(1e9)}`, description: "fuzz" }) },
      { method: "GET", route: "rooms.detail", path: () => `/city/rooms/${roomId()}` },
      { method: "GET", route: "rooms.history", path: () => `/city/rooms/${roomId()}/messages${query()}` },
      { method: "POST", route: "rooms.post", path: () => `/city/rooms/${roomId()}/messages`, valid: () => (r.chance(0.3) ? { text: "fuzz text" } : { body: `fuzz ${r.int(1e6)}`, client_message_id: `fz-${r.int(50)}` }) },
      { method: "POST", route: "rooms.join", path: () => `/city/rooms/${roomId()}/join`, valid: () => ({}) },
      { method: "POST", route: "rooms.leave", path: () => `/city/rooms/${roomId()}/leave`, valid: () => ({}) },
      { method: "GET", route: "feed", path: () => `/city/feed${query()}` },
      { method: "GET", route: "presence", path: () => `/city/presence${r.chance(0.5) ? `?user_ids=${enc(Array.from({ length: r.int(300) }, () => r.pick(["u_a", "u_b", r.pick(HOSTILE_STRINGS)])).join(","))}` : query()}` },
      { method: "POST", route: "secondme.invoke", path: () => "/secondme/invoke", valid: () => ({ prompt: `fuzz prompt ${r.int(1e6)}` }) },
      { method: "GET", route: "secondme.history", path: () => `/secondme/history${query()}` },
      { method: "GET", route: "secondme.profile", path: () => "/secondme/profile" },
      { method: "POST", route: "secondme.clear", path: () => "/secondme/history/clear", valid: () => ({}) },
      { method: "GET", route: "health", path: () => r.pick(["/healthz", "/readyz", "/admin/queues", "/admin/queues/api/queues", "/nope", `/${r.pick(HOSTILE_IDS)}`]) },
    ];
    for (let n = 0; n < count; n++) {
      const rt = r.pick(routes);
      let method = rt.method;
      if (r.chance(0.05)) method = r.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]);
      const prefix = r.pick(["", "/api", "/v1"]);
      const headers: Record<string, string> = {};
      // Second Me clear runs only as its own user, whose rows the accounting leaves out.
      const tokenRoll = r.int(10);
      const token = rt.route === "secondme.clear" ? (tokenRoll < 7 ? tokens.clear : r.pick(bad)) : tokenRoll < 6 ? r.pick([tokens.a, tokens.b, tokens.agent]) : tokenRoll < 8 ? undefined : r.pick(bad);
      if (token) headers.authorization = r.chance(0.95) ? `Bearer ${token}` : r.pick([token, `Basic ${token}`, "Bearer", `Bearer ${token} extra`]);
      let body: string | Buffer | undefined;
      if (method !== "GET" && method !== "HEAD") {
        const roll = r.int(10);
        if (roll < 3 && rt.valid) body = JSON.stringify(rt.valid());
        else if (roll < 7 && rt.valid) body = JSON.stringify(mutate(r, rt.valid()));
        else if (roll < 9) body = JSON.stringify(randomJson(r, 4));
        else body = r.pick(RAW_BODIES);
        headers["content-type"] = r.chance(0.85)
          ? "application/json"
          : r.pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml", randomAscii(r, 10)]);
      }
      out.push({ n, method, url: `${prefix}${rt.path()}`, route: rt.route, headers, body });
    }
    return out;
  }

  async function send(c: Case): Promise<Outcome> {
    try {
      const res = await fetch(srv.url + c.url, { method: c.method, headers: c.headers, body: c.body });
      return { c, status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? "" };
    } catch (err) {
      // The connection was dropped: a 599 so the case is reported with the rest.
      return { c, status: 599, text: String((err as Error).cause ?? err), type: "" };
    }
  }

  it("thousands of random and mutated requests: no 5xx, clear errors, only accepted writes stored, no crash", async () => {
    const seed = fuzzSeed("REST fuzzer");
    const all = cases(new Prng(seed), fuzzCases(2500));
    const workersBefore = await workerPids(srv.process.pid!);
    const before = await rowCounts(process.env.TEST_DATABASE_URL!);
    const smBefore = await secondMeRows();

    const outcomes: Outcome[] = [];
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (next < all.length) outcomes.push(await send(all[next++]!));
      }),
    );

    const took = Date.now() - t0;
    const describeCase = (o: Outcome) =>
      `case ${o.c.n} (FUZZ_SEED=${seed}) -> ${o.status} ${o.text.slice(0, 300)}: ${o.c.method} ${o.c.url.slice(0, 200)} body=${String(o.c.body).slice(0, 200)}`;
    for (const o of outcomes) {
      expect(o.status, describeCase(o)).to.be.below(500);
      if (o.status >= 400 && o.c.method !== "HEAD") {
        expect(o.type, describeCase(o)).to.match(/application\/json/);
        const err = (JSON.parse(o.text) as { error?: { code?: unknown; message?: unknown } }).error;
        expect(err?.code, describeCase(o)).to.be.a("string").and.match(/^[a-z_]+$/);
        expect(err?.message, describeCase(o)).to.be.a("string").and.not.equal("");
      }
    }

    // The database moved exactly by what was accepted.
    const ok = (route: string, status: number) => outcomes.filter((o) => o.c.route === route && o.status === status && o.c.method === "POST").length;
    const after = await rowCounts(process.env.TEST_DATABASE_URL!);
    const posted = ok("rooms.post", 201);
    expect(after.city_rooms - before.city_rooms, "rooms").to.equal(ok("rooms.create", 201));
    expect(after.city_room_messages - before.city_room_messages, "messages").to.equal(posted);
    expect(after.city_feed_events - before.city_feed_events, "feed events").to.equal(posted);
    expect((await secondMeRows()) - smBefore, "Second Me messages").to.equal(2 * ok("secondme.invoke", 200));
    // Every accepted message is well-formed in the store: no NUL, no lone surrogate, within limits.
    const stored = await sql<{ body: string }>(process.env.TEST_DATABASE_URL!, "SELECT body FROM city_room_messages WHERE room_id = $1", [room]);
    for (const m of stored) {
      expect(m.body.isWellFormed() && !m.body.includes("\u0000") && m.body.trim() === m.body && [...m.body].length <= 4000, m.body.slice(0, 80)).to.equal(true);
    }

    // No prototype was polluted in any worker: an empty body is still refused on every write.
    for (let i = 0; i < 6; i++) {
      for (const [path, code] of [
        [`/city/rooms/${room}/messages`, "validation_failed"],
        ["/city/rooms", "validation_failed"],
        ["/secondme/invoke", "validation_failed"],
      ] as const) {
        const res = await fetch(srv.url + path, { method: "POST", headers: { connection: "close", "content-type": "application/json", authorization: `Bearer ${tokens.a}` }, body: "{}" });
        const body = (await res.json()) as { error: { code: string } };
        expect([res.status, body.error.code], `${path} with {}`).to.deep.equal([400, code]);
      }
      const health = await fetch(`${srv.url}/healthz`, { headers: { connection: "close" } });
      expect(await health.json()).to.deep.equal({ status: "ok" });
    }

    // Nothing crashed: the same workers serve, and the primary is alive.
    expect(srv.process.exitCode).to.equal(null);
    expect(await workerPids(srv.process.pid!)).to.deep.equal(workersBefore);
    const codes = new Map<number, number>();
    for (const o of outcomes) codes.set(o.status, (codes.get(o.status) ?? 0) + 1);
    console.log(`      ${outcomes.length} cases in ${took} ms; statuses ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])))}`);
  });

  async function secondMeRows(): Promise<number> {
    const rows = await sql<{ n: number }>(process.env.TEST_DATABASE_URL!, "SELECT count(*)::int AS n FROM secondme_messages WHERE user_id <> $1", [CLEAR_USER]);
    return rows[0]!.n;
  }
});
