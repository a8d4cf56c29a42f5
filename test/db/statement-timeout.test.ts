// A stuck statement must not hold its caller for good: the pool bounds every statement, and what
// the bound cancels is reported like a dependency that is away (503 unavailable), not a 500.
import { expect } from "chai";
import { toAppError } from "../../src/core/errors.js";
import { createDatabase, type Database } from "../../src/infra/db/database.js";

describe("db: statement timeout", function () {
  this.timeout(30_000);
  let db: Database;
  before(() => {
    db = createDatabase(process.env.TEST_DATABASE_URL!, { poolSize: 2, statementTimeoutMs: 300, applicationName: "city-test-timeout" });
  });
  after(() => db.close());

  it("cancels a statement that runs past the bound, answers 503 for it, and the pool serves on", async () => {
    const started = Date.now();
    const err = await db.pool.query("SELECT pg_sleep(5)").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "the sleep was cancelled").to.not.equal(undefined);
    expect(Date.now() - started).to.be.below(3_000);
    expect((err as { code?: string }).code).to.equal("57014");
    const app = toAppError(err);
    expect(app.code).to.equal("unavailable");
    expect(app.status).to.equal(503);
    expect((await db.pool.query("SELECT 1 AS one")).rows[0].one).to.equal(1);
  });

  it("bounds statements made through Prisma too (one pool)", async () => {
    const err = await db.prisma.$queryRawUnsafe("SELECT pg_sleep(5)").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(toAppError(err).code).to.equal("unavailable");
  });
});
