// The console's server side, in process: the page and its bundle (built when missing or stale),
// config.json, and dev tokens — minted and accepted in development and test, 404 in production and
// with an RS256-only configuration. And the browser code type-checks under its own tsconfig.
import { spawnSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createConsoleRouter } from "../../src/console/console-routes.js";
import { CONSOLE_SRC, ensureConsoleBundle } from "../../src/console/bundle.js";
import { createTokenVerifier } from "../../src/auth/verify-token.js";
import { createLogger } from "../../src/core/logger.js";
import { createHttpApp } from "../../src/http/app.js";
import type { Config } from "../../src/config/config.js";
import { TEST_JWT_SECRET } from "../support/tokens.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const logger = createLogger("silent");

async function serveConsole(config: Pick<Config, "env" | "jwt">): Promise<{ url: string; close(): Promise<void> }> {
  const app = createHttpApp({
    logger,
    verify: createTokenVerifier(config.jwt),
    corsOrigins: "localhost",
    publicRouters: [createConsoleRouter({ config, logger, prebuild: false })],
    routers: [],
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const hs = { secret: TEST_JWT_SECRET, publicKey: undefined, isDevSecret: false };
const mint = (url: string, body: unknown) =>
  fetch(`${url}/console/dev-token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("console (server side)", function () {
  this.timeout(60_000);

  describe("in test", function () {
    let srv: Awaited<ReturnType<typeof serveConsole>>;
    before(async () => (srv = await serveConsole({ env: "test", jwt: hs })));
    after(() => srv.close());

    it("serves the page with a strict CSP, and its bundle and styles", async function () {
      const page = await fetch(`${srv.url}/console`);
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.match(/text\/html/);
      expect(page.headers.get("content-security-policy")).to.include("default-src 'self'").and.include("script-src 'self'");
      const html = await page.text();
      expect(html).to.include('src="/console/console.js"').and.include('href="/console/console.css"');
      expect(html).to.not.match(/https?:\/\//); // no CDN, nothing from elsewhere

      const js = await fetch(`${srv.url}/console/console.js`);
      expect(js.status).to.equal(200);
      expect(js.headers.get("content-type")).to.match(/javascript/);
      const code = await js.text();
      expect(code.length).to.be.greaterThan(20_000); // socket.io-client is bundled in
      expect(code).to.not.match(/from\s*["']socket\.io-client["']/);
      const css = await fetch(`${srv.url}/console/console.css`);
      expect(css.headers.get("content-type")).to.match(/text\/css/);

      const etag = js.headers.get("etag")!;
      const again = await fetch(`${srv.url}/console/console.js`, { headers: { "if-none-match": etag } });
      expect(again.status).to.equal(304);
    });

    it("is served under /api and /v1 too", async function () {
      for (const prefix of ["/api", "/v1"]) expect((await fetch(`${srv.url}${prefix}/console`)).status).to.equal(200);
    });

    it("offers dev tokens, signed with the configured secret, that the server accepts", async function () {
      const config = (await (await fetch(`${srv.url}/console/config.json`)).json()) as { dev_tokens: boolean; heartbeat_ms: number };
      expect(config).to.deep.equal({ dev_tokens: true, heartbeat_ms: 20_000 });
      const res = await mint(srv.url, { user_id: "u_console_test", name: "Console Test" });
      expect(res.status).to.equal(200);
      expect(res.headers.get("cache-control")).to.equal("no-store");
      const body = (await res.json()) as { token: string; user_id: string; name: string; expires_at: string };
      expect(body).to.include({ user_id: "u_console_test", name: "Console Test" });
      expect(Date.parse(body.expires_at)).to.be.greaterThan(Date.now() + 11 * 3600_000);
      expect(createTokenVerifier(hs)(body.token)).to.deep.include({ kind: "user", userId: "u_console_test", name: "Console Test", admin: false });
    });

    it("refuses a bad user id or name with 400, and an admin role cannot be smuggled in", async function () {
      for (const bad of [{}, { user_id: "alice" }, { user_id: "u_" }, { user_id: "u_ok", name: "" }, { user_id: "u_" + "x".repeat(200) }]) {
        const res = await mint(srv.url, bad);
        expect(res.status, JSON.stringify(bad)).to.equal(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("validation_failed");
      }
      const res = await mint(srv.url, { user_id: "u_sneaky", role: "admin", roles: ["admin"] });
      const { token } = (await res.json()) as { token: string };
      expect(createTokenVerifier(hs)(token)).to.deep.include({ admin: false });
    });
  });

  describe("in development with the built-in development secret", function () {
    let srv: Awaited<ReturnType<typeof serveConsole>>;
    before(async () => (srv = await serveConsole({ env: "development", jwt: { ...hs, isDevSecret: true } })));
    after(() => srv.close());

    it("offers dev tokens (nothing real can be impersonated with that secret)", async function () {
      expect(await (await fetch(`${srv.url}/console/config.json`)).json()).to.include({ dev_tokens: true });
      expect((await mint(srv.url, { user_id: "u_dev" })).status).to.equal(200);
    });
  });

  for (const [label, config] of [
    ["in production", { env: "production", jwt: hs }],
    ["in development with a configured JWT_SECRET (its tokens would be real)", { env: "development", jwt: hs }],
    ["with only JWT_PUBLIC_KEY (nothing to sign with)", { env: "development", jwt: { secret: undefined, publicKey: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----", isDevSecret: false } }],
  ] as const) {
    describe(label, function () {
      let srv: Awaited<ReturnType<typeof serveConsole>>;
      before(async () => (srv = await serveConsole(config as Pick<Config, "env" | "jwt">)));
      after(() => srv.close());

      it("refuses dev tokens with 404 and says so in config.json; the page still serves", async function () {
        const res = await mint(srv.url, { user_id: "u_prod" });
        expect(res.status).to.equal(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).to.equal("not_found");
        expect(await (await fetch(`${srv.url}/console/config.json`)).json()).to.include({ dev_tokens: false });
        expect((await fetch(`${srv.url}/console`)).status).to.equal(200);
      });
    });
  }

  describe("the bundle", function () {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "city-console-"));
      await cp(CONSOLE_SRC, path.join(dir, "src"), { recursive: true });
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it("is built when missing, reused when fresh, rebuilt when a source changes", async function () {
      const opts = { srcDir: path.join(dir, "src"), outDir: path.join(dir, "out") };
      const first = await ensureConsoleBundle(opts);
      expect(first.built).to.equal(true);
      expect((await readFile(path.join(dir, "out", "console.js"))).equals(first.js)).to.equal(true);
      const second = await ensureConsoleBundle(opts);
      expect(second.built).to.equal(false);
      expect(second.fingerprint).to.equal(first.fingerprint);
      const main = path.join(dir, "src", "src", "main.ts");
      await writeFile(main, (await readFile(main, "utf8")) + "\nconsole.debug('changed');\n");
      const third = await ensureConsoleBundle(opts);
      expect(third.built).to.equal(true);
      expect(third.fingerprint).to.not.equal(first.fingerprint);
      expect(third.js.toString()).to.include("changed");
    });

    it("serves a built bundle without its sources (an image that ships only dist/console)", async function () {
      const built = await ensureConsoleBundle({ srcDir: path.join(dir, "src"), outDir: path.join(dir, "shipped") });
      const shipped = await ensureConsoleBundle({ srcDir: path.join(dir, "no-sources"), outDir: path.join(dir, "shipped") });
      expect(shipped.built).to.equal(false);
      expect(shipped.fingerprint).to.equal(built.fingerprint);
      expect(shipped.js.equals(built.js)).to.equal(true);
      let error: Error | undefined;
      await ensureConsoleBundle({ srcDir: path.join(dir, "no-sources"), outDir: path.join(dir, "nothing") }).catch((e: Error) => (error = e));
      expect(error?.message).to.match(/no console sources/);
    });

    it("keeps being served from memory when the output folder cannot be written", async function () {
      const blocker = path.join(dir, "blocker");
      await writeFile(blocker, "a file where a folder should be");
      const assets = await ensureConsoleBundle({ srcDir: path.join(dir, "src"), outDir: path.join(blocker, "out") });
      expect(assets.built).to.equal(true);
      expect(assets.js.length).to.be.greaterThan(20_000);
    });
  });

  it("type-checks the browser code (console/tsconfig.json: DOM, strict)", function () {
    this.timeout(120_000);
    const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
    const res = spawnSync(tsc, ["-p", "console/tsconfig.json", "--noEmit"], { cwd: ROOT, encoding: "utf8" });
    expect(res.status, `${res.stdout}${res.stderr}`).to.equal(0);
  });
});
