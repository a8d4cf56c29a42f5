// Default rooms (CONTRACT §2): created at start-up if missing, idempotently, also when several
// processes start together.
import { expect } from "chai";
import pg from "pg";
import { seedDefaultRooms } from "../../src/boot.js";
import { migrate } from "../../src/infra/db/migrate.js";
import { createTestDatabase } from "../support/database.js";

describe("db: default rooms", function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const rooms = async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query("SELECT id, slug, name, is_default FROM city_rooms ORDER BY created_at, id")).rows;
    } finally {
      await c.end();
    }
  };
  beforeEach(async () => {
    db = await createTestDatabase("city_test_rooms");
    await migrate(db.url);
  });
  afterEach(async () => db?.drop());

  it("creates general, welcome and builders once when five processes seed at the same time", async () => {
    const slugs = ["general", "welcome", "builders"];
    await Promise.all(Array.from({ length: 5 }, () => seedDefaultRooms(db.url, slugs)));
    await seedDefaultRooms(db.url, slugs);
    const rows = await rooms();
    expect(rows.map((r) => r.id)).to.deep.equal(["room_city_general", "room_city_welcome", "room_city_builders"]);
    expect(rows.every((r) => r.is_default)).to.equal(true);
    expect(rows.map((r) => r.name)).to.deep.equal(["General", "Welcome", "Builders"]);
  });

  it("adds a newly configured room and leaves existing ones alone", async () => {
    await seedDefaultRooms(db.url, ["general"]);
    await seedDefaultRooms(db.url, ["general", "help-desk"]);
    const rows = await rooms();
    expect(rows.map((r) => [r.slug, r.name])).to.deep.equal([
      ["general", "General"],
      ["help-desk", "Help Desk"],
    ]);
  });
});
