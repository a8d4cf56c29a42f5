// Verifies a bearer JWT into an Identity. Each key accepts exactly one algorithm (HS256 for the
// secret, RS256 for the public key), which refuses `alg: none` and HS/RS confusion.
import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { AppError } from "../core/errors.js";
import type { Identity } from "./identity.js";

export interface JwtKeys {
  readonly secret: string | undefined;
  readonly publicKey: string | undefined;
}

export type TokenVerifier = (token: string) => Identity;

const ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const AGENT_ID = /^ag_/;

function claimId(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) v = String(v);
  return typeof v === "string" && ID.test(v) ? v : undefined;
}

/** The `name` claim as it may be stored and shown: control characters (NUL would fail the
 *  PostgreSQL write) removed, well-formed, trimmed, at most 100 characters (never half an emoji). */
function displayNameClaim(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const clean = v.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return clean ? [...clean].slice(0, 100).join("").trim() : undefined;
}

/** Key material turned into a KeyObject once. Given a string, jsonwebtoken does this on every
 *  verify, and for an HMAC secret it first tries (and fails) to parse it as a public key: that
 *  exception was the largest single cost of an authenticated request. */
function keyObject(material: string | undefined, kind: "secret" | "public"): KeyObject | string | undefined {
  if (material === undefined) return undefined;
  try {
    return kind === "secret" ? createSecretKey(Buffer.from(material)) : createPublicKey(material);
  } catch {
    return material; // unusable key material: verify refuses tokens as it did before
  }
}

export function createTokenVerifier(keys: JwtKeys): TokenVerifier {
  const secret = keyObject(keys.secret, "secret");
  const publicKey = keyObject(keys.publicKey, "public");
  return (token) => {
    if (typeof token !== "string" || token.length === 0 || token.length > 8192) {
      throw new AppError("unauthorized", "Missing or malformed token");
    }
    const decoded = jwt.decode(token, { complete: true });
    // `null` and `undefined` are what a front end sends when it has no token at all.
    if (!decoded || typeof decoded !== "object") throw new AppError("unauthorized", "Malformed token: not a JWT");
    const alg = decoded.header?.alg;
    let key: KeyObject | string | undefined;
    if (alg === "HS256") key = secret;
    else if (alg === "RS256") key = publicKey;
    if (!key) throw new AppError("unauthorized", "Invalid token");
    let claims: jwt.JwtPayload;
    try {
      const out = jwt.verify(token, key, { algorithms: [alg as jwt.Algorithm], clockTolerance: 5 });
      if (typeof out === "string") throw new Error("string payload");
      claims = out;
    } catch (err) {
      const expired = err instanceof jwt.TokenExpiredError;
      throw new AppError("unauthorized", expired ? "Token expired" : "Invalid token");
    }
    const name = displayNameClaim(claims.name);
    // `agent_id` marks an agent's service token, and agent ids are `ag_*`: any other value makes
    // the token invalid rather than silently a user token (null counts as absent).
    if (claims.agent_id !== undefined && claims.agent_id !== null) {
      const agentId = claimId(claims.agent_id);
      if (!agentId || !AGENT_ID.test(agentId)) throw new AppError("unauthorized", "Invalid token: agent_id must be an agent id (ag_…)");
      return { kind: "agent", agentId, name, admin: false };
    }
    const userId = claimId(claims.sub) ?? claimId(claims.user_id);
    if (!userId) throw new AppError("unauthorized", "Token names no user");
    const roles = Array.isArray(claims.roles) ? claims.roles : [];
    const admin = claims.role === "admin" || roles.includes("admin");
    return { kind: "user", userId, name, admin };
  };
}

/**
 * For connections, which a bad token does not refuse (CONTRACT §3: they listen anonymously): the
 * identity of `token`, or why it was not accepted.
 */
export function identityOrReason(verify: TokenVerifier, token: string): { identity?: Identity; reason?: string } {
  try {
    return { identity: verify(token) };
  } catch (err) {
    return { reason: err instanceof AppError ? err.message : "Invalid token" };
  }
}

/** Pulls the token out of an `Authorization: Bearer …` header value. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
