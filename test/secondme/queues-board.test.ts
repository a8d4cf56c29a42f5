// bull-board at /admin/queues: admins (admin JWT or ADMIN_TOKEN) only.
import { expect } from "chai";
import { agentToken, userToken } from "../support/tokens.js";
import { ADMIN_TOKEN, startRig, type Rig } from "./support.js";

describe("bull-board at /admin/queues", () => {
  let rig: Rig;
  before(async function () {
    this.timeout(60_000);
    rig = await startRig();
  });
  after(async function () {
    this.timeout(30_000);
    await rig?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(rig.url + path, { headers, redirect: "manual" });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it("401 without credentials or with a bad token", async () => {
    for (const path of ["/admin/queues", "/admin/queues/api/queues", "/api/admin/queues"]) {
      const res = await get(path);
      expect(res.status, path).to.equal(401);
      expect(((await res.json()) as any).error.code).to.equal("unauthorized");
    }
    expect((await get("/admin/queues", bearer("not-the-admin-token"))).status).to.equal(401);
    expect((await get("/admin/queues?token=nope")).status).to.equal(401);
  });

  it("403 for users and agents that are not admins", async () => {
    expect((await get("/admin/queues", bearer(userToken("u_plain")))).status).to.equal(403);
    expect((await get("/admin/queues", bearer(agentToken("ag_helper")))).status).to.equal(403);
  });

  it("200 for an admin JWT and for ADMIN_TOKEN, listing the secondme and presence-sweep queues", async () => {
    for (const token of [userToken("u_admin", { role: "admin" }), ADMIN_TOKEN]) {
      const page = await get("/admin/queues", bearer(token));
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.match(/html/);
      const api = await get("/admin/queues/api/queues", bearer(token));
      expect(api.status).to.equal(200);
      const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names).to.include.members(["secondme", "presence-sweep"]);
    }
  });

  it("accepts ?token= once and then the HttpOnly cookie it sets", async () => {
    const first = await get(`/admin/queues?token=${encodeURIComponent(ADMIN_TOKEN)}`);
    expect(first.status).to.equal(200);
    const cookie = first.headers.get("set-cookie") ?? "";
    expect(cookie).to.match(/city_admin_token=/).and.match(/httponly/i).and.match(/samesite=strict/i);
    const again = await get("/admin/queues/api/queues", { cookie: cookie.split(";")[0]! });
    expect(again.status).to.equal(200);
  });
});
