// Each test run gets its own PostgreSQL database on the machine's server, migrated with the
// project's own runner, and drops it at the end: tests never touch development data.
import pg from "pg";
import { migrate } from "../../src/infra/db/migrate.js";

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export function adminUrl(): string {
  return ADMIN_URL;
}

export function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTestDatabase(prefix = "city_test"): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  return {
    name,
    url,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated database for the whole run, shared by the test files (see hooks.ts). */
export async function createMigratedDatabase() {
  const db = await createTestDatabase();
  await migrate(db.url);
  return db;
}
