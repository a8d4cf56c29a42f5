// Rooms over REST (CONTRACT §6 and §10): list, create (slug rules, derived slugs, 409), detail.
import { expect } from "chai";
import type pg from "pg";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { userToken } from "../support/tokens.js";
import { FUNCTIONAL_ENV, PREFIXES, expectError, get, makeRoom, post, testPool, uniq } from "./client.js";

const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe("rest: rooms", () => {
  let srv: TestServer;
  let db: pg.Pool;
  const alice = userToken("u_alice_rooms", { name: "Alice" });

  before(async function () {
    this.timeout(90_000); // the cluster starts slowly on a loaded machine
    srv = await sharedServer(FUNCTIONAL_ENV);
    db = testPool();
  });
  after(async () => {
    await db?.end();
  });

  describe("GET /city/rooms", () => {
    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: lists the default rooms first, with every field of the contract`, async () => {
        const res = await get(srv.url, `${prefix}/city/rooms`);
        expect(res.status).to.equal(200);
        expect(res.body).to.be.an("array");
        expect(res.body.slice(0, 3).map((r: { slug: string }) => r.slug)).to.deep.equal(["general", "welcome", "builders"]);
        for (const room of res.body) {
          expect(room).to.include.all.keys("id", "slug", "name", "description", "is_default", "created_at", "members_online", "last_event");
          expect(room.id).to.equal(`room_city_${room.slug}`);
          expect(room.members_online).to.be.a("number");
          expect(room.created_at).to.match(ISO);
          if (room.last_event !== null) expect(room.last_event).to.match(ISO);
        }
        const general = res.body[0];
        expect(general.is_default).to.equal(true);
        expect(general.name).to.equal("General");
      });
    }

    it("pages with limit and offset without gaps or repeats", async () => {
      for (let i = 0; i < 4; i++) await makeRoom(srv.url, alice, "page");
      const all = (await get(srv.url, "/city/rooms?limit=200")).body.map((r: { id: string }) => r.id);
      expect(all.length).to.be.at.least(7);
      const paged: string[] = [];
      for (let offset = 0; offset < all.length + 2; offset += 2) {
        const res = await get(srv.url, `/city/rooms?limit=2&offset=${offset}`);
        expect(res.status).to.equal(200);
        expect(res.body.length).to.be.at.most(2);
        paged.push(...res.body.map((r: { id: string }) => r.id));
      }
      expect(paged).to.deep.equal(all);
      expect((await get(srv.url, "/city/rooms?limit=1")).body).to.have.length(1);
      expect((await get(srv.url, `/city/rooms?offset=${all.length}`)).body).to.deep.equal([]);
    });

    it("reports last_event as the time of the room's last message, or null", async () => {
      const roomId = await makeRoom(srv.url, alice);
      const before = (await get(srv.url, "/city/rooms?limit=200")).body.find((r: { id: string }) => r.id === roomId);
      expect(before.last_event).to.equal(null);
      expect(before.members_online).to.equal(0);
      const msg = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: "first" }, alice);
      expect(msg.status).to.equal(201);
      const after = (await get(srv.url, "/city/rooms?limit=200")).body.find((r: { id: string }) => r.id === roomId);
      expect(after.last_event).to.equal(msg.body.created_at);
    });
  });

  describe("POST /city/rooms", () => {
    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: creates room_city_{slug} owned by the token user, then serves it`, async () => {
        const slug = `made-${uniq()}`;
        const res = await post(srv.url, `${prefix}/city/rooms`, { name: "Made Here", slug, description: "A room" }, alice);
        expect(res.status, res.text).to.equal(201);
        expect(res.body).to.include({
          id: `room_city_${slug}`,
          slug,
          name: "Made Here",
          description: "A room",
          is_default: false,
          created_by: "u_alice_rooms",
          members_online: 0,
          last_event: null,
        });
        expect(res.body.created_at).to.match(ISO);
        const detail = await get(srv.url, `${prefix}/city/rooms/room_city_${slug}`);
        expect(detail.status).to.equal(200);
        expect(detail.body.room.slug).to.equal(slug);
        const row = await db.query("SELECT created_by FROM city_rooms WHERE id = $1", [`room_city_${slug}`]);
        expect(row.rows[0]?.created_by).to.equal("u_alice_rooms");
      });
    }

    it("accepts slugs at the edges of the rule and refuses the rest with field slug", async () => {
      const ok = [`0${uniq()}`, `a-${uniq()}`, ("z" + uniq()).padEnd(63, "9")];
      for (const slug of ok) {
        const res = await post(srv.url, "/city/rooms", { name: "Edge", slug }, alice);
        expect(res.status, `${slug}: ${res.text}`).to.equal(201);
        expect(res.body.slug).to.equal(slug);
      }
      const bad = ["a", "-lead", "Upper", "has space", "ünï", "a_b", "x".repeat(64), "", "dots.in"];
      for (const slug of bad) {
        const res = await post(srv.url, "/city/rooms", { name: "Edge", slug }, alice);
        expect(expectError(res, 400, "validation_failed").field, slug).to.equal("slug");
      }
    });

    it("derives the slug from a name when none is given (the front end sends none)", async () => {
      const tag = uniq();
      const res = await post(srv.url, "/v1/city/rooms", { name: `Builders Hub ${tag}`, description: "x" }, alice);
      expect(res.status, res.text).to.equal(201);
      expect(res.body.slug).to.equal(`builders-hub-${tag}`);
      expect(res.body.id).to.equal(`room_city_builders-hub-${tag}`);
    });

    it("transliterates Ukrainian names (national system, word-initial forms included)", async () => {
      const cases: [string, string][] = [
        ["Київська кав'ярня", "kyivska-kaviarnia"],
        ["Юний Євген їсть яблуко", "yunyi-yevhen-yist-yabluko"],
        ["Згорани", "zghorany"],
        ["Ґанок і Щастя", "ganok-i-shchastia"],
        ["Café Ünïcode", "cafe-unicode"],
      ];
      for (const [name, slug] of cases) {
        const res = await post(srv.url, "/city/rooms", { name }, alice);
        expect(res.status, `${name}: ${res.text}`).to.equal(201);
        expect(res.body.slug, name).to.equal(slug);
        expect(res.body.name).to.equal(name);
      }
    });

    it("falls back to a short id for a name with nothing to transliterate (emoji only)", async () => {
      const a = await post(srv.url, "/city/rooms", { name: "🎉🎉🎉" }, alice);
      const b = await post(srv.url, "/city/rooms", { name: "🎉🎉🎉" }, alice);
      const c = await post(srv.url, "/city/rooms", { name: "漢字" }, alice);
      for (const res of [a, b, c]) {
        expect(res.status, res.text).to.equal(201);
        expect(res.body.slug).to.match(SLUG_RE).and.match(/^room-[a-z0-9]+$/);
      }
      expect(a.body.name).to.equal("🎉🎉🎉");
      expect(a.body.slug).to.not.equal(b.body.slug);
    });

    it("answers 409 for a slug that exists, given or derived, and keeps the first room", async () => {
      const slug = `dup-${uniq()}`;
      expect((await post(srv.url, "/city/rooms", { name: "First", slug }, alice)).status).to.equal(201);
      for (const prefix of PREFIXES) {
        const res = await post(srv.url, `${prefix}/city/rooms`, { name: "Second", slug }, userToken("u_bob_rooms"));
        expectError(res, 409);
      }
      const derived = await post(srv.url, "/city/rooms", { name: `Dup ${slug}` }, alice);
      expect(derived.status).to.equal(201);
      expectError(await post(srv.url, "/city/rooms", { name: `Dup ${slug}` }, alice), 409);
      expectError(await post(srv.url, "/city/rooms", { name: "General" }, alice), 409);
      const rows = await db.query("SELECT name, created_by FROM city_rooms WHERE slug = $1", [slug]);
      expect(rows.rows).to.deep.equal([{ name: "First", created_by: "u_alice_rooms" }]);
    });

    it("enforces name 1-100 and description up to 500 characters, counting characters", async () => {
      const okName = await post(srv.url, "/city/rooms", { name: "😀".repeat(100), slug: `n-${uniq()}` }, alice);
      expect(okName.status, okName.text).to.equal(201);
      expect(okName.body.name).to.equal("😀".repeat(100));
      const okDesc = await post(srv.url, "/city/rooms", { name: "D", slug: `d-${uniq()}`, description: "ї".repeat(500) }, alice);
      expect(okDesc.status, okDesc.text).to.equal(201);
      const noDesc = await post(srv.url, "/city/rooms", { name: "D", slug: `d-${uniq()}`, description: null }, alice);
      expect(noDesc.status).to.equal(201);
      expect(noDesc.body.description).to.equal(null);

      const bad: [unknown, string][] = [
        [{ name: "", slug: `x-${uniq()}` }, "name"],
        [{ name: "   ", slug: `x-${uniq()}` }, "name"],
        [{ name: "n".repeat(101), slug: `x-${uniq()}` }, "name"],
        [{ slug: `x-${uniq()}` }, "name"],
        [{ name: 42, slug: `x-${uniq()}` }, "name"],
        [{ name: "ok", slug: `x-${uniq()}`, description: "d".repeat(501) }, "description"],
        [{ name: "ok", slug: `x-${uniq()}`, description: 7 }, "description"],
        [{ name: "ok", slug: 12 }, "slug"],
      ];
      for (const [body, field] of bad) {
        const res = await post(srv.url, "/city/rooms", body, alice);
        expect(expectError(res, 400, "validation_failed").field, JSON.stringify(body).slice(0, 80)).to.equal(field);
      }
    });

    it("trims the name and description", async () => {
      const res = await post(srv.url, "/city/rooms", { name: "  Spaced  ", slug: `s-${uniq()}`, description: "  d  " }, alice);
      expect(res.status).to.equal(201);
      expect(res.body.name).to.equal("Spaced");
      expect(res.body.description).to.equal("d");
    });
  });

  describe("GET /city/rooms/{room_id}", () => {
    let roomId: string;
    before(async function () {
      this.timeout(90_000);
      roomId = await makeRoom(srv.url, alice, "detail");
      for (let i = 1; i <= 55; i++) {
        const res = await post(srv.url, `/city/rooms/${roomId}/messages`, { body: `m${i}` }, alice);
        expect(res.status).to.equal(201);
      }
    });

    for (const prefix of PREFIXES) {
      it(`${prefix || "/"}: returns the last 50 messages oldest first, and the room flat and under room`, async () => {
        const res = await get(srv.url, `${prefix}/city/rooms/${roomId}`);
        expect(res.status).to.equal(200);
        const { room, messages } = res.body;
        expect(messages).to.have.length(50);
        expect(messages.map((m: { body: string }) => m.body)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `m${i + 6}`));
        expect(messages.map((m: { seq: number }) => m.seq)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 6));
        expect(room).to.include({ id: roomId, members_online: 0 });
        for (const key of ["id", "slug", "name", "description", "is_default", "created_at", "members_online", "last_event"]) {
          expect(res.body[key], key).to.deep.equal(room[key]);
        }
        expect(res.body.members_online).to.equal(0);
        expect(room.last_event).to.equal(messages[49].created_at);
        expect(messages[0]).to.include({ body: "m6", text: "m6", username: "Alice", room_id: roomId });
      });
    }

    it("answers 404 for an unknown room at every prefix", async () => {
      for (const prefix of PREFIXES) {
        expectError(await get(srv.url, `${prefix}/city/rooms/room_city_no-such-room`), 404);
        expectError(await get(srv.url, `${prefix}/city/rooms/not-a-room-id`), 404);
      }
    });

    it("serves an empty room with an empty message list", async () => {
      const empty = await makeRoom(srv.url, alice, "empty");
      const res = await get(srv.url, `/city/rooms/${empty}`);
      expect(res.status).to.equal(200);
      expect(res.body.messages).to.deep.equal([]);
      expect(res.body.room.last_event).to.equal(null);
    });
  });
});
