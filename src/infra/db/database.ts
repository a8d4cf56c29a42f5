// The database handle: one pg Pool shared by Prisma (through @prisma/adapter-pg) and by the hot
// paths that send a single hand-written statement straight to the pool (NOTES: Prisma's model
// API costs 2-4x on the message write and on history reads).
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../generated/prisma/client.js";

export type { PrismaClient };

export interface Database {
  readonly prisma: PrismaClient;
  readonly pool: pg.Pool;
  /** Resolves when PostgreSQL answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// timestamptz as Date, int8 (seq, counts) as a JS number: seq stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createDatabase(url: string, opts: { poolSize?: number; applicationName?: string } = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 16,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? "city-api",
  });
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
