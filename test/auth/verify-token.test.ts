// Token verification into an identity (CONTRACT §3): HS256 and RS256, the claims that make a user
// or an agent, and the attacks a verifier must refuse (alg none, HS/RS confusion).
import { createHmac, generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import { bearer, createTokenVerifier } from "../../src/auth/verify-token.js";
import { AppError } from "../../src/core/errors.js";

const SECRET = "unit-test-secret-0123456789abcdef";
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

function handmade(header: object, claims: object, sign: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign(input)}`;
}

function expectUnauthorized(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "should have thrown").to.be.instanceOf(AppError);
  expect((thrown as AppError).code).to.equal("unauthorized");
  expect((thrown as AppError).status).to.equal(401);
  if (message) expect((thrown as AppError).message).to.match(message);
}

describe("auth: verify token", () => {
  let publicKey: string;
  let privateKey: string;
  let otherPrivateKey: string;

  before(function () {
    this.timeout(120_000);
    const opts = { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } } as const;
    ({ publicKey, privateKey } = generateKeyPairSync("rsa", opts));
    otherPrivateKey = generateKeyPairSync("rsa", opts).privateKey;
  });

  const hsVerifier = () => createTokenVerifier({ secret: SECRET, publicKey: undefined });
  const rsVerifier = () => createTokenVerifier({ secret: undefined, publicKey });
  const hs = (claims: object, opts: jwt.SignOptions = {}) => jwt.sign(claims, SECRET, { algorithm: "HS256", expiresIn: "1h", ...opts });

  describe("HS256", () => {
    it("makes a user from sub, with name and no admin role", () => {
      expect(hsVerifier()(hs({ sub: "u_1", name: "Марія" }))).to.deep.equal({ kind: "user", userId: "u_1", name: "Марія", admin: false });
    });

    it("falls back to user_id when there is no sub", () => {
      expect(hsVerifier()(hs({ user_id: "u_2" }))).to.deep.equal({ kind: "user", userId: "u_2", name: undefined, admin: false });
    });

    it("prefers sub over user_id", () => {
      expect(hsVerifier()(hs({ sub: "u_sub", user_id: "u_other" }))).to.include({ userId: "u_sub" });
    });

    it("marks role admin (and roles containing admin) as admin, nothing else", () => {
      const v = hsVerifier();
      expect(v(hs({ sub: "u_a", role: "admin" }))).to.include({ admin: true });
      expect(v(hs({ sub: "u_a", roles: ["user", "admin"] }))).to.include({ admin: true });
      expect(v(hs({ sub: "u_a", role: "user" }))).to.include({ admin: false });
      expect(v(hs({ sub: "u_a", role: "Admin " }))).to.include({ admin: false });
    });

    it("makes an agent identity from agent_id", () => {
      expect(hsVerifier()(hs({ agent_id: "ag_helper", name: "Helper" }))).to.deep.equal({ kind: "agent", agentId: "ag_helper", name: "Helper", admin: false });
      // An agent token cannot make itself an admin.
      expect(hsVerifier()(hs({ agent_id: "ag_x", role: "admin", sub: "u_x" }))).to.include({ kind: "agent", admin: false });
    });

    it("refuses an agent_id that is not an agent id (ag_*), whatever else the token says", () => {
      const v = hsVerifier();
      for (const agent_id of ["not_an_agent", "u_1", "AG_x", "xag_1", "ag", "", "ag_has space", 42, true, ["ag_x"], { id: "ag_x" }]) {
        expectUnauthorized(() => v(hs({ agent_id })), /agent_id/);
        expectUnauthorized(() => v(hs({ agent_id, sub: "u_1" })), /agent_id/);
      }
    });

    it("keeps a token with a user sub and a valid agent_id an agent token; a null agent_id is no agent_id", () => {
      expect(hsVerifier()(hs({ sub: "u_1", agent_id: "ag_1" }))).to.deep.equal({ kind: "agent", agentId: "ag_1", name: undefined, admin: false });
      expect(hsVerifier()(hs({ sub: "u_1", agent_id: null }))).to.deep.equal({ kind: "user", userId: "u_1", name: undefined, admin: false });
    });

    it("ignores a blank name and trims a padded one", () => {
      expect(hsVerifier()(hs({ sub: "u_n", name: "   " })).name).to.equal(undefined);
      expect(hsVerifier()(hs({ sub: "u_n", name: "  Ім'я  " })).name).to.equal("Ім'я");
    });

    it("refuses tokens naming no usable subject", () => {
      const v = hsVerifier();
      expectUnauthorized(() => v(hs({ name: "nobody" })));
      expectUnauthorized(() => v(hs({ sub: "" })));
      expectUnauthorized(() => v(hs({ sub: "has space" })));
      expectUnauthorized(() => v(hs({ sub: { id: "u_1" } })));
    });

    it("refuses expired, wrongly signed, malformed and empty tokens", () => {
      const v = hsVerifier();
      const expired = jwt.sign({ sub: "u_1", exp: Math.floor(Date.now() / 1000) - 60 }, SECRET, { algorithm: "HS256" });
      expectUnauthorized(() => v(expired), /expired/i);
      expectUnauthorized(() => v(jwt.sign({ sub: "u_1" }, "a-different-secret-of-some-length", { algorithm: "HS256" })));
      expectUnauthorized(() => v("not.a.token"));
      expectUnauthorized(() => v("garbage"), /malformed/i);
      // What front ends send when they have no token.
      expectUnauthorized(() => v("null"), /malformed/i);
      expectUnauthorized(() => v("undefined"), /malformed/i);
      expectUnauthorized(() => v(""));
      expectUnauthorized(() => v("x".repeat(9000)));
    });

    it("refuses alg none, however it is spelled or signed", () => {
      const v = hsVerifier();
      for (const alg of ["none", "None", "NONE"]) {
        expectUnauthorized(() => v(handmade({ alg, typ: "JWT" }, { sub: "u_evil", exp: inAnHour() }, () => "")));
      }
      expectUnauthorized(() => v(handmade({ alg: "none" }, { sub: "u_evil" }, (i) => createHmac("sha256", SECRET).update(i).digest("base64url"))));
    });

    it("refuses other HMAC algorithms than HS256 even with the right secret", () => {
      expectUnauthorized(() => hsVerifier()(jwt.sign({ sub: "u_1" }, SECRET, { algorithm: "HS512" })));
    });

    it("refuses RS256 tokens when no public key is configured", () => {
      expectUnauthorized(() => hsVerifier()(jwt.sign({ sub: "u_1" }, privateKey, { algorithm: "RS256" })));
    });
  });

  describe("RS256", () => {
    it("verifies a token signed by the matching private key", () => {
      const token = jwt.sign({ sub: "u_rs", name: "RS", role: "admin" }, privateKey, { algorithm: "RS256", expiresIn: "1h" });
      expect(rsVerifier()(token)).to.deep.equal({ kind: "user", userId: "u_rs", name: "RS", admin: true });
    });

    it("refuses a token signed by another key", () => {
      expectUnauthorized(() => rsVerifier()(jwt.sign({ sub: "u_rs" }, otherPrivateKey, { algorithm: "RS256" })));
    });

    it("refuses HS256 signed with the public key as the secret (algorithm confusion)", () => {
      const forged = handmade({ alg: "HS256", typ: "JWT" }, { sub: "u_forged", role: "admin", exp: inAnHour() }, (i) =>
        createHmac("sha256", publicKey).update(i).digest("base64url"),
      );
      expectUnauthorized(() => rsVerifier()(forged));
      // Also when a secret is configured next to the public key: the secret, not the key, checks HS256.
      expectUnauthorized(() => createTokenVerifier({ secret: SECRET, publicKey })(forged));
    });

    it("refuses an RS256 header over an HMAC signature", () => {
      const forged = handmade({ alg: "RS256", typ: "JWT" }, { sub: "u_forged", exp: inAnHour() }, (i) => createHmac("sha256", publicKey).update(i).digest("base64url"));
      expectUnauthorized(() => rsVerifier()(forged));
    });

    it("accepts both kinds when both keys are configured", () => {
      const v = createTokenVerifier({ secret: SECRET, publicKey });
      expect(v(hs({ sub: "u_h" }))).to.include({ userId: "u_h" });
      expect(v(jwt.sign({ sub: "u_r" }, privateKey, { algorithm: "RS256" }))).to.include({ userId: "u_r" });
    });
  });

  describe("bearer()", () => {
    it("extracts the token from a Bearer header and nothing else", () => {
      expect(bearer("Bearer abc.def.ghi")).to.equal("abc.def.ghi");
      expect(bearer("bearer   abc")).to.equal("abc");
      expect(bearer("Basic abc")).to.equal(undefined);
      expect(bearer("Bearer")).to.equal(undefined);
      expect(bearer("Bearer a b")).to.equal(undefined);
      expect(bearer(undefined)).to.equal(undefined);
    });
  });
});
