// Zero-config development (CONTRACT §1, §2): `npm start` with nothing configured runs the whole
// system: an embedded PostgreSQL under DATA_DIR, the local Redis, the API cluster, the job workers
// with the stand-in Agents Core; it prints where to connect and stops cleanly on SIGTERM.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DEV_JWT_SECRET } from "../../src/config/config.js";
import { until } from "../support/clients.js";
import { entry, freePort } from "../support/server.js";
import { auth, userToken } from "../support/tokens.js";
import { dropKeys } from "./support.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The environment of a developer who configured nothing (the test runner's own settings removed). */
function bareEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const configured = /^(DATABASE_URL|REDIS_URL|JWT_|AGENTS_|NATS_URL|WEB_CONCURRENCY|CITY_|CORS_|ADMIN_TOKEN|SECONDME_|PRESENCE_|RATE_LIMIT|BULLMQ_|LOG_LEVEL|HOST|PORT|DATA_DIR|NODE_ENV|TEST_|SHUTDOWN_)/;
  for (const [k, v] of Object.entries(process.env)) if (!configured.test(k)) env[k] = v;
  return { ...env, ...extra };
}

interface Started {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** The compiled entry as `npm start` runs it; resolves once the where-to-connect block is out. */
async function startMain(env: NodeJS.ProcessEnv, port: number, opts: { ownGroup?: boolean } = {}): Promise<Started> {
  const child = spawn(process.execPath, [entry("main")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: opts.ownGroup });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`exited during start-up (${child.exitCode}):\n${out}`);
        return out.includes("DAARION City backend is up") ? true : undefined;
      },
      240_000,
      "the start-up block",
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, child, exited, output: () => out };
}

describe("ops: zero-config start", function () {
  this.timeout(300_000);
  let dataDir: string;
  const run = Math.random().toString(36).slice(2, 10);
  const token = userToken(`u_zero_${run}`, {}, DEV_JWT_SECRET);
  // PORT and DATA_DIR only keep this run apart from others on the machine; BULLMQ_PREFIX keeps its
  // jobs away from any other development server sharing the local Redis.
  const env = (port: number) => bareEnv({ NODE_ENV: "development", PORT: String(port), DATA_DIR: dataDir, BULLMQ_PREFIX: `city:zero:${run}:bull` });

  before(async () => {
    // As root, embedded PostgreSQL runs as OS user postgres, which must be able to enter it.
    dataDir = await mkdtemp(path.join(os.tmpdir(), "city-zero-config-"));
    await chmod(dataDir, 0o755);
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await dropKeys(`city:zero:${run}:bull:*`);
  });

  it("starts everything with DATABASE_URL unset, serves the default rooms and Second Me, and stops with exit 0", async () => {
    const port = await freePort();
    const { url, child, exited, output } = await startMain(env(port), port);
    try {
      const out = output();

      // The block says where to connect.
      for (const where of ["/city/rooms", "/city/presence", "/ws/city/rooms/{room_id}", "/ws/city/presence", "/console", "/admin/queues", "/metrics"]) {
        expect(out, where).to.include(where);
      }
      expect(out).to.include(`embedded, data in ${path.join(dataDir, "postgres")}`);
      expect(out).to.include("JWT_SECRET is not set");
      // AGENTS_CORE_URL unset: what answers on 127.0.0.1:7002, else the stand-in (there, or on a
      // free port when 7002 is taken); the block says which.
      expect(out).to.match(/Agents Core\s+http:\/\/127\.0\.0\.1:\d+ \((the built-in stand-in|AGENTS_CORE_URL is unset; an Agents Core already answers)/);
      expect(existsSync(path.join(dataDir, "postgres", "PG_VERSION"))).to.equal(true);

      const rooms = (await (await fetch(`${url}/city/rooms`)).json()) as { slug: string }[];
      expect(rooms.map((r) => r.slug)).to.include.members(["general", "welcome", "builders"]);
      expect((await fetch(`${url}/readyz`)).status).to.equal(200);

      // A room the restart below must still find.
      const created = await fetch(`${url}/city/rooms`, {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json" },
        body: JSON.stringify({ name: "Kept", slug: `kept-${run}` }),
      });
      expect(created.status).to.equal(201);

      // The job workers and the stand-in Agents Core answer Second Me out of the box.
      const res = await fetch(`${url}/secondme/invoke`, {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json" },
        body: JSON.stringify({ prompt: "hello from a fresh checkout" }),
      });
      expect(res.status, await res.clone().text()).to.equal(200);
      expect(((await res.json()) as { reply: string }).reply).to.be.a("string").and.not.empty;

      const t0 = Date.now();
      child.kill("SIGTERM");
      const code = await exited;
      expect(code, output().slice(-3000)).to.equal(0);
      expect(Date.now() - t0).to.be.below(60_000);
      // PostgreSQL was stopped with the rest (its pid file goes when it shuts down).
      expect(existsSync(path.join(dataDir, "postgres", "postmaster.pid"))).to.equal(false);
    } finally {
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    }
  });

  it("starts again on the same data, and Ctrl-C (SIGINT to the whole process group) stops everything with exit 0", async () => {
    const port = await freePort();
    // Its own process group, like a terminal's foreground job: the signal reaches the primary, its
    // workers, the job workers and PostgreSQL at once.
    const { url, child, exited, output } = await startMain(env(port), port, { ownGroup: true });
    try {
      const rooms = (await (await fetch(`${url}/city/rooms?limit=200`)).json()) as { slug: string }[];
      expect(rooms.map((r) => r.slug)).to.include(`kept-${run}`);
      const t0 = Date.now();
      process.kill(-child.pid!, "SIGINT");
      const code = await exited;
      expect(code, output().slice(-3000)).to.equal(0);
      expect(Date.now() - t0).to.be.below(40_000);
      await until(() => (existsSync(path.join(dataDir, "postgres", "postmaster.pid")) ? undefined : true), 10_000, "PostgreSQL gone");
    } finally {
      if (child.exitCode === null) {
        process.kill(-child.pid!, "SIGKILL");
        await exited;
      }
    }
  });
});
