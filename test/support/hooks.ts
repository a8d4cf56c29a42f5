// Mocha root hooks: one migrated database for the whole run, named in TEST_DATABASE_URL; the
// servers test files share (shared-server.ts) are stopped before it is dropped.
import { createMigratedDatabase } from "./database.js";
import { stopSharedServers } from "./shared-server.js";

let drop: (() => Promise<void>) | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const db = await createMigratedDatabase();
    process.env.TEST_DATABASE_URL = db.url;
    drop = db.drop;
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedServers();
    await drop?.();
  },
};
