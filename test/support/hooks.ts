// Mocha root hooks: one migrated database for the whole run, named in TEST_DATABASE_URL.
import { createMigratedDatabase } from "./database.js";

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
    await drop?.();
  },
};
