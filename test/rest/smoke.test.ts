import { expect } from "chai";
import type { TestServer } from "../support/server.js";
import { sharedServer } from "../support/shared-server.js";
import { auth, userToken } from "../support/tokens.js";

describe("smoke", () => {
  let srv: TestServer;
  before(async () => {
    srv = await sharedServer();
  });

  it("lists default rooms and posts a message", async () => {
    const rooms = (await (await fetch(`${srv.url}/city/rooms`)).json()) as { slug: string }[];
    expect(rooms.map((r) => r.slug)).to.include.members(["general", "welcome", "builders"]);
    const res = await fetch(`${srv.url}/api/city/rooms/room_city_general/messages`, {
      method: "POST",
      headers: { ...auth(userToken("u_smoke", { name: "Smoke" })), "content-type": "application/json" },
      body: JSON.stringify({ body: "Привіт місто! 🏙️" }),
    });
    expect(res.status).to.equal(201);
    const msg = (await res.json()) as { body: string; seq: number; username: string };
    expect(msg.body).to.equal("Привіт місто! 🏙️");
    expect(msg.username).to.equal("Smoke");
    const detail = (await (await fetch(`${srv.url}/v1/city/rooms/room_city_general`)).json()) as { name: string; messages: unknown[] };
    expect(detail.name).to.equal("General");
    const feed = (await (await fetch(`${srv.url}/city/feed`)).json()) as { kind: string; payload: { body: string } }[];
    expect(feed[0]!.payload.body).to.equal("Привіт місто! 🏙️");
  });
});
