// Start-up steps that run once per machine before any worker serves: resolve the database
// (embedded PostgreSQL in development when DATABASE_URL is unset), apply pending migrations,
// and create the default rooms. Safe when several processes run it at once: migrations take an
// advisory lock and the rooms are inserted with ON CONFLICT DO NOTHING.
import type { Config } from "./config/config.js";
import { createDatabase } from "./infra/db/database.js";
import { startEmbeddedPostgres } from "./infra/db/embedded-postgres.js";
import { migrate } from "./infra/db/migrate.js";
import { createRoomsRepo } from "./rooms/rooms-repo.js";
import { createRoomsService } from "./rooms/rooms-service.js";

export interface PreparedDatabase {
  readonly url: string;
  readonly applied: readonly string[];
  /** Stops the embedded PostgreSQL, when one was started. */
  stop(): Promise<void>;
}

export async function prepareDatabase(config: Config, log: (line: string) => void): Promise<PreparedDatabase> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    const { applied } = await migrate(url);
    await seedDefaultRooms(url, config.defaultRooms);
    return { url, applied, stop: async () => embedded?.stop() };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

export async function seedDefaultRooms(url: string, slugs: readonly string[]): Promise<void> {
  const db = createDatabase(url, { poolSize: 1, applicationName: "city-boot" });
  try {
    await createRoomsService({ repo: createRoomsRepo(db) }).ensureDefaultRooms(slugs);
  } finally {
    await db.close();
  }
}
