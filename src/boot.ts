// Preparing the database before any worker serves: pending migrations, then the default rooms
// (CONTRACT §2: "created at start-up if missing"). The cluster primary runs this file as a
// short-lived child process (prepare-in-child.ts) while its workers load their code: it loads pg
// and Prisma, whose query compiler (WebAssembly) alone holds about 100 MB once a query ran, and
// hands all of it back to the system when it exits. Several machines may prepare at once:
// migrations take an advisory lock and the rooms are inserted with ON CONFLICT DO NOTHING.
import { loadConfig } from "./config/config.js";
import { createDatabase } from "./infra/db/database.js";
import { migrate } from "./infra/db/migrate.js";
import { createRoomsRepo } from "./rooms/rooms-repo.js";
import { createRoomsService } from "./rooms/rooms-service.js";

/** What the child reports over IPC. */
export interface PrepareResult {
  readonly applied?: readonly string[];
  readonly error?: string;
}

export async function seedDefaultRooms(url: string, slugs: readonly string[]): Promise<void> {
  const db = createDatabase(url, { poolSize: 1, applicationName: "city-boot" });
  try {
    await createRoomsService({ repo: createRoomsRepo(db) }).ensureDefaultRooms(slugs);
  } finally {
    await db.close();
  }
}

async function prepare(): Promise<PrepareResult> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error("DATABASE_URL is not set");
  const { applied } = await migrate(config.databaseUrl);
  await seedDefaultRooms(config.databaseUrl, config.defaultRooms);
  return { applied };
}

// Run as the child (an IPC channel to the primary); imported (tests), it only exports.
if (process.send && process.env.CITY_PREPARE_DATABASE === "1") {
  const send = process.send.bind(process);
  const report = (result: PrepareResult) => new Promise((sent) => send(result, sent));
  prepare().then(
    async (result) => {
      await report(result);
      process.disconnect();
    },
    async (err: Error) => {
      await report({ error: err.message.replace(/[\r\n]+/g, " ") });
      process.exit(1);
    },
  );
}
