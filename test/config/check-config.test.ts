// The configuration table checks itself (issue 12): every variable validated with one line naming
// it, likely typos of known names warned, the README's table and the code's table the same
// variables, and `npm run check-config` printing the effective values with secrets masked.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { OTHER_VARIABLES, listVariables } from "../../src/config/variables.js";
import { entry, runToExit } from "../support/server.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

const run = (env: Record<string, string>) => runToExit(process.execPath, [entry("checkConfig")], env);

describe("config: the table checks itself", function () {
  this.timeout(30_000);

  it("refuses the values it used to take unchecked, naming the variable", () => {
    for (const [name, value] of [
      ["LOG_LEVEL", "verbose"],
      ["HOST", "http://0.0.0.0"],
      ["BULLMQ_PREFIX", "city bull"],
      ["CITY_JOBS", "maybe"],
      ["LOG_FORMAT", "xml"],
      ["RATE_LIMIT_MESSAGES_PER_SEC", "fast"],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).to.throw(ConfigError, new RegExp(`^${name} `));
    }
    expect(loadConfig({ CITY_JOBS: "off" }).jobs).to.equal(false);
    expect(loadConfig({}).jobs).to.equal(true);
  });

  it("warns about likely typos of known variables, and about nothing else in the environment", () => {
    const c = loadConfig({ SECONDME_TIMEOUT: "5000", SECONDME_TIMEOUT_MSS: "1", CITY_JOB: "off", CITY_WHATEVER: "x", HOME: "/root", PATH: "/bin", TEST_REDIS_URL: "redis://x", CITY_WORKER_ID: "1" });
    expect(c.warnings).to.deep.equal([
      "SECONDME_TIMEOUT is not a known variable: did you mean SECONDME_TIMEOUT_MS?",
      "SECONDME_TIMEOUT_MSS is not a known variable: did you mean SECONDME_TIMEOUT_MS?",
      "CITY_JOB is not a known variable: did you mean CITY_JOBS?",
      "CITY_WHATEVER is not a known variable and is ignored",
    ]);
    expect(c.secondme.timeoutMs, "a typo leaves the default").to.equal(30_000);
  });

  it("lists in README.md exactly the variables the code reads", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## The API at a glance"));
    const documented = new Set([...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    const read = listVariables().map((v) => v.name);
    // RATE_LIMIT_* rules are documented as a family.
    const undocumented = read.filter((n) => !documented.has(n) && !n.startsWith("RATE_LIMIT_"));
    expect(undocumented, "variables missing from README's table").to.deep.equal([]);
    const unknown = [...documented].filter((n) => !read.includes(n) && !OTHER_VARIABLES.includes(n) && n !== "RATE_LIMIT_");
    expect(unknown, "README documents variables the code does not read").to.deep.equal([]);
  });

  it("npm run check-config prints the effective values with secrets masked", async () => {
    const { code, out } = await run({
      NODE_ENV: "production",
      DATABASE_URL: "postgresql://city:db-password-1@db:5432/city",
      REDIS_URL: "redis://:redis-password-2@cache:6379/0",
      JWT_SECRET: "jwt-secret-value-3-long-enough",
      ADMIN_TOKEN: "admin-token-4",
      WEB_CONCURRENCY: "3",
      SECONDME_TIMEOUT: "5",
    });
    expect(code, out).to.equal(0);
    for (const secret of ["db-password-1", "redis-password-2", "jwt-secret-value-3", "admin-token-4"]) expect(out).to.not.include(secret);
    expect(out).to.match(/^ {2}DATABASE_URL +postgresql:\/\/city:\*\*\*@db:5432\/city$/m);
    expect(out).to.match(/^ {2}JWT_SECRET +\(set, 30 characters\)$/m);
    expect(out).to.match(/^ {2}WEB_CONCURRENCY +3$/m);
    expect(out).to.match(/^ {2}PORT +8080 +\(default\)$/m);
    expect(out).to.include("warning: SECONDME_TIMEOUT is not a known variable: did you mean SECONDME_TIMEOUT_MS?");
  });

  it("npm run check-config exits 1 with one line naming a bad variable", async () => {
    const { code, out } = await run({ LOG_LEVEL: "verbose" });
    expect(code).to.equal(1);
    expect(out.trim().split("\n")).to.deep.equal([`config: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"`]);
  });
});
