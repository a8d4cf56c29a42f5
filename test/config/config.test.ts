// Configuration (CONTRACT §2): defaults, every variable parsed, bad values refused with one line
// naming the variable, a frozen result, and the real entry point stopping on a bad value.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { dropKeys } from "../support/redis-keys.js";
import { entry, runToExit } from "../support/server.js";
import { ConfigError, DEV_JWT_SECRET, loadConfig, withAgentsUrl } from "../../src/config/config.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg, "one line").to.not.include("\n");
    return msg;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("config", () => {
  describe("defaults", () => {
    const c = loadConfig({});

    it("listens on 0.0.0.0:8080 in development", () => {
      expect(c.env).to.equal("development");
      expect(c.port).to.equal(8080);
      expect(c.host).to.equal("0.0.0.0");
    });

    it("leaves DATABASE_URL unset (embedded PostgreSQL) and defaults Redis and NATS", () => {
      expect(c.databaseUrl).to.equal(undefined);
      expect(c.redisUrl).to.equal("redis://127.0.0.1:6379/0");
      expect(c.agents.natsUrl).to.equal("nats://127.0.0.1:4222");
      expect(c.agents.transport).to.equal("http");
      expect(c.agents.invokePath).to.equal("/agents/{agent_id}/invoke");
    });

    it("uses the loud development JWT secret only when no key is given", () => {
      expect(c.jwt).to.deep.equal({ secret: DEV_JWT_SECRET, publicKey: undefined, isDevSecret: true });
    });

    it("creates general, welcome and builders, also when CITY_DEFAULT_ROOMS is empty", () => {
      expect(c.defaultRooms).to.deep.equal(["general", "welcome", "builders"]);
      expect(loadConfig({ CITY_DEFAULT_ROOMS: "" }).defaultRooms).to.deep.equal(["general", "welcome", "builders"]);
      expect(loadConfig({ CITY_DEFAULT_ROOMS: " , " }).defaultRooms).to.deep.equal(["general", "welcome", "builders"]);
    });

    it("runs one worker per CPU, at least 2", () => {
      expect(c.webConcurrency).to.equal(Math.max(2, os.availableParallelism()));
    });

    it("points at Agents Core on http://127.0.0.1:7002, in production and test too", () => {
      expect(c.agents).to.include({ url: "http://127.0.0.1:7002", urlIsDefault: true });
      const production = loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://h/db", JWT_SECRET: "x".repeat(32) });
      expect(production.agents).to.include({ url: "http://127.0.0.1:7002", urlIsDefault: true });
      expect(loadConfig({ NODE_ENV: "test" }).agents).to.include({ url: "http://127.0.0.1:7002", urlIsDefault: true });
      expect(loadConfig({ AGENTS_CORE_URL: "http://127.0.0.1:7002" }).agents.urlIsDefault, "set, even to the default value").to.equal(false);
    });

    it("gives one Agents Core call as long as the caller waits (SECONDME_TIMEOUT_MS) unless AGENTS_CORE_TIMEOUT_MS says otherwise", () => {
      expect(c.agents.timeoutMs).to.equal(30_000);
      // Scaled: an agent answering after 2.5 s of a 3 s wait must not be cut off (the old fixed
      // 25 s default was independent of the wait, so the same agent at 26 s of 30 s got a 504).
      expect(loadConfig({ SECONDME_TIMEOUT_MS: "3000" }).agents.timeoutMs).to.equal(3_000);
      expect(loadConfig({ SECONDME_TIMEOUT_MS: "90000" }).agents.timeoutMs).to.equal(90_000);
      expect(loadConfig({ SECONDME_TIMEOUT_MS: "3000", AGENTS_CORE_TIMEOUT_MS: "10000" }).agents.timeoutMs).to.equal(10_000);
      expect(loadConfig({ AGENTS_CORE_TIMEOUT_MS: "1500" }).agents.timeoutMs).to.equal(1_500);
    });

    it("posts agents.reply in the city-agents-reply queue group", () => {
      expect(c.agents.replyQueueGroup).to.equal("city-agents-reply");
      expect(loadConfig({ AGENTS_REPLY_QUEUE_GROUP: "city-staging" }).agents.replyQueueGroup).to.equal("city-staging");
    });

    it("has the contract's Second Me and presence defaults", () => {
      expect(c.secondme.agentId).to.equal("ag_secondme_global");
      expect(c.secondme.timeoutMs).to.equal(30_000);
      expect(c.presence.ttlSeconds).to.equal(40);
      expect(c.presence.allowAnonymous).to.equal(false);
    });

    it("allows localhost origins in development and none in production", () => {
      expect(c.corsOrigins).to.equal("localhost");
      expect(loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://h/db", JWT_SECRET: "x".repeat(32) }).corsOrigins).to.deep.equal([]);
    });

    it("drains for up to 15 s on SIGTERM, refusing connections at once", () => {
      expect(c.shutdown).to.deep.equal({ timeoutMs: 15_000, delayMs: 0 });
      expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: "25000", SHUTDOWN_DELAY_MS: "5000" }).shutdown).to.deep.equal({ timeoutMs: 25_000, delayMs: 5_000 });
      expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: "10" })).to.throw(ConfigError, /SHUTDOWN_TIMEOUT_MS/);
    });

    it("has no admin token", () => {
      expect(c.adminToken).to.equal(undefined);
    });
  });

  it("parses every variable", () => {
    const c = loadConfig({
      NODE_ENV: "production",
      PORT: "9090",
      HOST: "127.0.0.1",
      DATABASE_URL: "postgresql://u:p@db:5432/city",
      REDIS_URL: "rediss://cache:6380/2",
      JWT_SECRET: "a-production-secret-of-length",
      SECONDME_AGENT_ID: "ag_other",
      AGENTS_CORE_URL: "https://agents.example.org",
      AGENTS_TRANSPORT: "NATS",
      NATS_URL: "nats://nats:4222",
      CITY_DEFAULT_ROOMS: "lobby, help-desk",
      WEB_CONCURRENCY: "3",
      SECONDME_TIMEOUT_MS: "5000",
      ADMIN_TOKEN: "admin-token",
      CORS_ORIGINS: "https://city.example.org, http://localhost:5173",
      AGENTS_CORE_INVOKE_PATH: "/agents/invoke",
      AGENTS_CORE_TIMEOUT_MS: "7000",
      AGENTS_REPLY_QUEUE_GROUP: "city-prod",
      PRESENCE_ALLOW_ANONYMOUS: "true",
    });
    expect(c).to.deep.include({
      env: "production",
      port: 9090,
      host: "127.0.0.1",
      databaseUrl: "postgresql://u:p@db:5432/city",
      redisUrl: "rediss://cache:6380/2",
      adminToken: "admin-token",
      webConcurrency: 3,
    });
    expect(c.jwt).to.deep.equal({ secret: "a-production-secret-of-length", publicKey: undefined, isDevSecret: false });
    expect(c.secondme).to.include({ agentId: "ag_other", timeoutMs: 5000 });
    expect(c.agents).to.include({
      transport: "nats",
      url: "https://agents.example.org",
      urlIsDefault: false,
      natsUrl: "nats://nats:4222",
      invokePath: "/agents/invoke",
      timeoutMs: 7000,
      replyQueueGroup: "city-prod",
    });
    expect(c.defaultRooms).to.deep.equal(["lobby", "help-desk"]);
    expect(c.corsOrigins).to.deep.equal(["https://city.example.org", "http://localhost:5173"]);
    expect(c.presence.allowAnonymous).to.equal(true);
  });

  it("reads AGENTS_SERVICE_URL as an alias of AGENTS_CORE_URL, the latter winning", () => {
    expect(loadConfig({ AGENTS_SERVICE_URL: "http://svc:7002" }).agents.url).to.equal("http://svc:7002");
    expect(loadConfig({ AGENTS_SERVICE_URL: "http://svc:7002", AGENTS_CORE_URL: "http://core:7002" }).agents.url).to.equal("http://core:7002");
  });

  it("takes JWT_PUBLIC_KEY instead of a secret, with \\n escapes turned into newlines", () => {
    const pem = "-----BEGIN PUBLIC KEY-----\\nMIIBIjAN\\n-----END PUBLIC KEY-----";
    const c = loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://h/db", JWT_PUBLIC_KEY: pem });
    expect(c.jwt.publicKey).to.equal("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----");
    expect(c.jwt.secret).to.equal(undefined);
    expect(c.jwt.isDevSecret).to.equal(false);
  });

  it("normalises an origin with a trailing slash so it still matches the browser's Origin header", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://city.example.org/" }).corsOrigins).to.deep.equal(["https://city.example.org"]);
  });

  describe("refuses bad values with one line naming the variable", () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: "abc" }, "PORT"],
      [{ PORT: "70000" }, "PORT"],
      [{ PORT: "-1" }, "PORT"],
      [{ PORT: "80\n81" }, "PORT"],
      [{ WEB_CONCURRENCY: "0" }, "WEB_CONCURRENCY"],
      [{ WEB_CONCURRENCY: "two" }, "WEB_CONCURRENCY"],
      [{ AGENTS_TRANSPORT: "grpc" }, "AGENTS_TRANSPORT"],
      [{ REDIS_URL: "http://x" }, "REDIS_URL"],
      [{ REDIS_URL: "not a url" }, "REDIS_URL"],
      [{ DATABASE_URL: "mysql://h/db" }, "DATABASE_URL"],
      [{ NATS_URL: "http://nats" }, "NATS_URL"],
      [{ AGENTS_CORE_URL: "ftp://agents" }, "AGENTS_CORE_URL"],
      [{ AGENTS_SERVICE_URL: "nope" }, "AGENTS_SERVICE_URL"],
      [{ AGENTS_CORE_INVOKE_PATH: "agents/invoke" }, "AGENTS_CORE_INVOKE_PATH"],
      [{ CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
      [{ CORS_ORIGINS: "https://ok.example.org,*" }, "CORS_ORIGINS"],
      [{ CORS_ORIGINS: "city.example.org" }, "CORS_ORIGINS"],
      [{ CORS_ORIGINS: "https://city.example.org/app" }, "CORS_ORIGINS"],
      [{ CITY_DEFAULT_ROOMS: "general,Bad Room" }, "CITY_DEFAULT_ROOMS"],
      [{ SECONDME_TIMEOUT_MS: "0" }, "SECONDME_TIMEOUT_MS"],
      [{ SECONDME_TIMEOUT_MS: "soon" }, "SECONDME_TIMEOUT_MS"],
      [{ AGENTS_CORE_TIMEOUT_MS: "0" }, "AGENTS_CORE_TIMEOUT_MS"],
      [{ AGENTS_CORE_TIMEOUT_MS: "25s" }, "AGENTS_CORE_TIMEOUT_MS"],
      [{ AGENTS_REPLY_QUEUE_GROUP: "two words" }, "AGENTS_REPLY_QUEUE_GROUP"],
      [{ AGENTS_REPLY_QUEUE_GROUP: "city.*" }, "AGENTS_REPLY_QUEUE_GROUP"],
      [{ PRESENCE_ALLOW_ANONYMOUS: "maybe" }, "PRESENCE_ALLOW_ANONYMOUS"],
      [{ JWT_PUBLIC_KEY: "not a pem" }, "JWT_PUBLIC_KEY"],
      [{ NODE_ENV: "staging" }, "NODE_ENV"],
      [{ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }, "DATABASE_URL"],
      [{ NODE_ENV: "production", DATABASE_URL: "postgres://h/db" }, "JWT_SECRET"],
      [{ NODE_ENV: "production", DATABASE_URL: "postgres://h/db", JWT_SECRET: "short" }, "JWT_SECRET"],
    ];
    for (const [env, name] of cases) {
      it(`${JSON.stringify(env)} names ${name}`, () => {
        expect(refusal(env)).to.include(name);
      });
    }
  });

  it("returns a deeply frozen object", () => {
    const c = loadConfig({ CORS_ORIGINS: "https://a.example.org" });
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.jwt)).to.equal(true);
    expect(Object.isFrozen(c.agents)).to.equal(true);
    expect(Object.isFrozen(c.defaultRooms)).to.equal(true);
    expect(Object.isFrozen(c.corsOrigins)).to.equal(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).to.throw(TypeError);
    expect(() => (c.defaultRooms as string[]).push("x")).to.throw(TypeError);
  });

  it("withAgentsUrl returns the same config, frozen, with the Agents Core chosen in development", () => {
    const c = loadConfig({ SECONDME_TIMEOUT_MS: "4000" });
    const chosen = withAgentsUrl(c, "http://127.0.0.1:45678");
    expect(chosen.agents).to.include({ url: "http://127.0.0.1:45678", urlIsDefault: false, timeoutMs: 4000 });
    expect(chosen.secondme).to.equal(c.secondme);
    expect(Object.isFrozen(chosen)).to.equal(true);
    expect(Object.isFrozen(chosen.agents)).to.equal(true);
    expect(c.agents.url, "the original is untouched").to.equal("http://127.0.0.1:7002");
  });

  it("reads process.env by default", () => {
    expect(loadConfig().port).to.be.a("number");
  });

  describe("the entry point", () => {
    const run = (env: Record<string, string>) => runToExit(process.execPath, [entry("main")], env);

    it("the job workers start in production with AGENTS_CORE_URL unset, on http://127.0.0.1:7002, and stop with exit 0", async function () {
      this.timeout(90_000);
      const prefix = `city:test:cfg${process.pid}${Math.random().toString(36).slice(2, 8)}:bull`;
      const child = spawn(process.execPath, [entry("jobs")], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          NODE_ENV: "production",
          DATABASE_URL: process.env.TEST_DATABASE_URL!,
          REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0",
          JWT_SECRET: "x".repeat(32),
          BULLMQ_PREFIX: prefix,
          LOG_LEVEL: "info",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        const deadline = Date.now() + 60_000;
        while (!(out.includes('"worker":"secondme"') && out.includes('"worker":"presence-sweep"'))) {
          if (child.exitCode !== null) throw new Error(`the job workers exited (${child.exitCode}):\n${out}`);
          if (Date.now() > deadline) throw new Error(`the job workers did not start:\n${out}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(out).to.not.include("AGENTS_CORE_URL is not set");
        expect(out, "production never starts the stand-in").to.not.include("stand-in");
        child.kill("SIGTERM");
        expect(await exited, out).to.equal(0);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
        await dropKeys(`${prefix}:*`);
      }
    });

    for (const [env, name] of [
      [{ PORT: "abc" }, "PORT"],
      [{ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }, "DATABASE_URL"],
    ] as [Record<string, string>, string][]) {
      it(`exits non-zero with exactly one line naming ${name} for ${JSON.stringify(env)}`, async function () {
        this.timeout(90_000);
        const { code, stdout, stderr } = await run(env);
        expect(code).to.not.equal(0);
        expect(code).to.not.equal(null);
        const lines = (stdout + stderr).split("\n").filter((l) => l.trim() !== "");
        expect(lines, stdout + stderr).to.have.length(1);
        expect(lines[0]).to.include(name);
        expect(lines[0]).to.not.match(/\bat .*:\d+/);
      });
    }
  });
});
