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

export interface DatabaseOptions {
  /** @defaultValue 16 */
  readonly poolSize?: number;
  readonly applicationName?: string;
  /**
   * A statement running longer is cancelled by PostgreSQL, and the client gives up on an answer a
   * little later (a server that vanished mid-query never answers). Every statement here is short;
   * without a bound, one stuck query would hold its caller for good (and a socket's later events,
   * which wait their turn). @defaultValue 15000
   */
  readonly statementTimeoutMs?: number;
}

export function createDatabase(url: string, opts: DatabaseOptions = {}): Database {
  const statementTimeout = opts.statementTimeoutMs ?? 15_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 16,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? "city-api",
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 5_000,
    keepAlive: true,
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
