// Production process management: `pm2 start ecosystem.config.cjs`, `pm2 reload` and `pm2 stop`
// work on this machine with pm2 from npm, in production mode, against the run's test database.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBuilt, freePort, testEnv, waitForWorkers } from "../support/server.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const PM2 = path.join(ROOT, "node_modules/pm2/bin/pm2");

describe("ops: pm2 ecosystem", function () {
  this.timeout(240_000);
  let home: string;
  let env: Record<string, string>;
  let url: string;

  const pm2 = (...args: string[]) => {
    const r = spawnSync(process.execPath, [PM2, ...args], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`pm2 ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const apps = () =>
    (JSON.parse(pm2("jlist")) as { name: string; pid: number; pm2_env: { status: string } }[]).map((p) => ({ name: p.name, pid: p.pid, status: p.pm2_env.status }));
  const ready = async (timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${url}/readyz`)).status === 200) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the pm2-run server never became ready");
  };

  before(async () => {
    ensureBuilt();
    home = mkdtempSync(path.join(os.tmpdir(), "city-pm2-"));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      ...(process.env as Record<string, string>),
      ...testEnv(),
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      PM2_HOME: home,
      CITY_LOG_DIR: path.join(home, "logs"),
      AGENTS_CORE_URL: "http://127.0.0.1:9",
      LOG_LEVEL: "warn",
    };
  });
  after(() => {
    try {
      pm2("kill");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("starts city-api (fork mode, its own cluster) and city-jobs, reloads, and stops", async () => {
    pm2("start", "ecosystem.config.cjs");
    await ready();
    const first = apps();
    expect(first.map((a) => a.name).sort()).to.deep.equal(["city-api", "city-jobs"]);
    expect(first.every((a) => a.status === "online")).to.equal(true);
    // The compiled build, as the image runs it: no TypeScript loader in either app.
    const command = (name: string) => readFileSync(`/proc/${first.find((a) => a.name === name)!.pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    expect(command("city-api")).to.match(/ dist\/src\/main\.js$/);
    expect(command("city-jobs")).to.match(/ dist\/workers\/main\.js$/);
    expect(command("city-api") + command("city-jobs")).to.not.include("tsx");
    const rooms = (await (await fetch(`${url}/city/rooms`)).json()) as { slug: string }[];
    expect(rooms.map((r) => r.slug)).to.include.members(["general", "welcome", "builders"]);
    // Its own cluster: two different workers answer fresh connections (WEB_CONCURRENCY=2).
    await waitForWorkers(url, 2, 60_000);

    pm2("reload", "ecosystem.config.cjs");
    await ready();
    await waitForWorkers(url, 2, 60_000);
    const second = apps();
    const pid = (list: typeof first, name: string) => list.find((a) => a.name === name)!.pid;
    expect(pid(second, "city-api")).to.not.equal(pid(first, "city-api"));
    expect(pid(second, "city-jobs")).to.not.equal(pid(first, "city-jobs"));

    pm2("stop", "all");
    expect(apps().every((a) => a.status === "stopped")).to.equal(true);
    const down = await fetch(`${url}/healthz`).then(
      () => false,
      () => true,
    );
    expect(down).to.equal(true);
  });
});
