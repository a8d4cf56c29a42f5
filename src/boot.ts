// Preparing the database before any worker serves: pending migrations, then the default rooms
// (CONTRACT §2: "created at start-up if missing"). The cluster primary runs this file as a
// short-lived child process (prepare-in-child.ts) while its workers load their code: it loads pg
// and, only when a default room is missing (the first start), Prisma, whose query compiler
// (WebAssembly) alone holds 70-80 MB once a query ran and costs about 0.7 s of CPU to set up; the
// child hands all of it back when it exits. Several machines may prepare at once: migrations take
// an advisory lock and the rooms are inserted with ON CONFLICT DO NOTHING.
import pg from "pg";
import { loadConfig } from "./config/config.js";
import { roomIdFor } from "./core/ids.js";
import { migrate } from "./infra/db/migrate.js";

/** What the child reports over IPC. */
export interface PrepareResult {
  readonly applied?: readonly string[];
  readonly error?: string;
}

export async function seedDefaultRooms(url: string, slugs: readonly string[]): Promise<void> {
  const [{ createDatabase }, { createRoomsRepo }, { createRoomsService }] = await Promise.all([
    import("./infra/db/database.js"),
    import("./rooms/rooms-repo.js"),
    import("./rooms/rooms-service.js"),
  ]);
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
  if (await anyMissing(config.databaseUrl, config.defaultRooms)) await seedDefaultRooms(config.databaseUrl, config.defaultRooms);
  return { applied };
}

/** One plain query: are all the default rooms there already (every start after the first)? */
async function anyMissing(url: string, slugs: readonly string[]): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, application_name: "city-boot" });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM city_rooms WHERE id = ANY($1)", [slugs.map(roomIdFor)]);
    return rows[0]!.n < slugs.length;
  } finally {
    await client.end().catch(() => {});
  }
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
