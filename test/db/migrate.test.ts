// The offline migration runner (issue 2, CONTRACT §4): records history exactly as Prisma does,
// is a no-op the second time, applies each migration once under concurrency, refuses an applied
// file that changed, and works as `npm run db:migrate`.
import { createHash } from "node:crypto";
import { appendFile, cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pg from "pg";
import { DEFAULT_MIGRATIONS_DIR, MigrationError, migrate } from "../../src/infra/db/migrate.js";
import { createTestDatabase } from "../support/database.js";
import { entry, runToExit } from "../support/server.js";


type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

async function migrationFiles(dir = DEFAULT_MIGRATIONS_DIR): Promise<{ name: string; checksum: string }[]> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => ({ name, checksum: createHash("sha256").update(await readFile(path.join(dir, name, "migration.sql"))).digest("hex") })),
  );
}

async function query<T extends pg.QueryResultRow = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const history = (url: string) =>
  query(url, `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`);

describe("db: migrations", function () {
  this.timeout(120_000);
  const dbs: TestDb[] = [];
  const fresh = async () => {
    const db = await createTestDatabase("city_test_migrate");
    dbs.push(db);
    return db;
  };
  after(async () => {
    for (const db of dbs) await db.drop().catch(() => {});
  });

  it("applies every migration to a fresh database and records it as Prisma does", async () => {
    const db = await fresh();
    const files = await migrationFiles();
    expect(files.length).to.be.at.least(2);
    const result = await migrate(db.url);
    expect(result).to.deep.equal({ applied: files.map((f) => f.name), alreadyApplied: 0 });

    // Prisma's table, column for column.
    const cols = await query(
      db.url,
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => [c.column_name, c.data_type, c.character_maximum_length, c.is_nullable])).to.deep.equal([
      ["id", "character varying", 36, "NO"],
      ["checksum", "character varying", 64, "NO"],
      ["finished_at", "timestamp with time zone", null, "YES"],
      ["migration_name", "character varying", 255, "NO"],
      ["logs", "text", null, "YES"],
      ["rolled_back_at", "timestamp with time zone", null, "YES"],
      ["started_at", "timestamp with time zone", null, "NO"],
      ["applied_steps_count", "integer", null, "NO"],
    ]);
    const pk = await query(
      db.url,
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = '"_prisma_migrations"'::regclass AND i.indisprimary`,
    );
    expect(pk.map((r) => r.attname)).to.deep.equal(["id"]);

    const rows = await history(db.url);
    expect(rows.map((r) => r.migration_name)).to.deep.equal(files.map((f) => f.name));
    for (const [i, r] of rows.entries()) {
      expect(r.checksum).to.equal(files[i]!.checksum);
      expect(r.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.finished_at).to.be.instanceOf(Date);
      expect(r.finished_at.getTime()).to.be.at.least(r.started_at.getTime());
      expect(r.rolled_back_at).to.equal(null);
      expect(r.logs).to.equal(null);
      expect(r.applied_steps_count).to.equal(1);
    }

    // Exactly the seed's tables (CONTRACT §4: later migrations add columns and indexes only).
    const tables = await query(db.url, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    expect(tables.map((t) => t.table_name)).to.have.members([
      "city_rooms",
      "city_room_messages",
      "city_feed_events",
      "secondme_sessions",
      "secondme_messages",
      "_prisma_migrations",
    ]);
    const idx = await query(db.url, `SELECT indexname FROM pg_indexes WHERE tablename = 'city_room_messages'`);
    expect(idx.map((r) => r.indexname)).to.include.members(["ix_city_room_messages_room_time", "ux_city_room_messages_room_seq", "ux_city_room_messages_client_id"]);
  });

  it("is a no-op the second time: no new rows, the same ids, nothing touched", async () => {
    const db = await fresh();
    await migrate(db.url);
    const first = await history(db.url);
    const again = await migrate(db.url);
    expect(again).to.deep.equal({ applied: [], alreadyApplied: first.length });
    expect(await history(db.url)).to.deep.equal(first);
  });

  it("applies each migration exactly once when three runners start together", async () => {
    const db = await fresh();
    const files = await migrationFiles();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).to.deep.equal(files.map((f) => f.name));
    expect(results.filter((r) => r.applied.length > 0)).to.have.length(1);
    const rows = await history(db.url);
    expect(rows.map((r) => r.migration_name)).to.deep.equal(files.map((f) => f.name));
  });

  it("applies only the new migration when one is added later", async () => {
    const db = await fresh();
    const dir = await mkdtemp(path.join(os.tmpdir(), "city-migrations-"));
    try {
      await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(db.url, dir);
      const name = "29991231000000_test_added";
      await cp(path.join(dir, (await migrationFiles(dir))[0]!.name), path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, "migration.sql"), `CREATE TABLE "test_added" ("id" TEXT PRIMARY KEY);\n`);
      const result = await migrate(db.url, dir);
      expect(result.applied).to.deep.equal([name]);
      expect(await query(db.url, `SELECT to_regclass('test_added') AS t`)).to.deep.equal([{ t: "test_added" }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to continue when an applied migration's file was modified, and changes nothing", async () => {
    const db = await fresh();
    const dir = await mkdtemp(path.join(os.tmpdir(), "city-migrations-"));
    try {
      await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(db.url, dir);
      const before = await history(db.url);
      const first = (await migrationFiles(dir))[0]!.name;
      await appendFile(path.join(dir, first, "migration.sql"), "\n-- edited after it was applied\n");
      let err: unknown;
      try {
        await migrate(db.url, dir);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(MigrationError);
      expect((err as Error).message).to.include(first).and.match(/modified|changed/);
      expect(await history(db.url)).to.deep.equal(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rolls back a failing migration whole: no half schema and no history row", async () => {
    const db = await fresh();
    const dir = await mkdtemp(path.join(os.tmpdir(), "city-migrations-"));
    try {
      await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      const name = "29991231000000_test_broken";
      await cp(path.join(dir, (await migrationFiles(dir))[0]!.name), path.join(dir, name), { recursive: true });
      await writeFile(path.join(dir, name, "migration.sql"), `CREATE TABLE "half_made" ("id" TEXT);\nSELECT no_such_function();\n`);
      let err: unknown;
      try {
        await migrate(db.url, dir);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(MigrationError);
      expect((err as Error).message).to.include(name);
      expect(await query(db.url, `SELECT to_regclass('half_made') AS t`)).to.deep.equal([{ t: null }]);
      const names = (await history(db.url)).map((r) => r.migration_name);
      expect(names).to.not.include(name);
      expect(names).to.have.length((await migrationFiles()).length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("works as `npm run db:migrate` with DATABASE_URL, and a second run reports nothing pending", async () => {
    const db = await fresh();
    const run = () => runToExit("npm", ["run", "--silent", "db:migrate"], { DATABASE_URL: db.url });
    const files = await migrationFiles();
    const first = await run();
    expect(first.code, first.out).to.equal(0);
    for (const f of files) expect(first.out).to.include(f.name);
    expect((await history(db.url)).map((r) => r.migration_name)).to.deep.equal(files.map((f) => f.name));
    const second = await run();
    expect(second.code, second.out).to.equal(0);
    expect(second.out).to.match(/none pending/);
  });

  it("exits non-zero with a clear line when the database cannot be reached", async () => {
    const { code, out } = await runToExit(process.execPath, [entry("migrate")], { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/nowhere" });
    expect(code).to.not.equal(0);
    expect(out).to.match(/^db:migrate: /m);
  });
});
