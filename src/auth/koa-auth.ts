// Koa side of identity: reads `Authorization: Bearer`, verifies it, and puts the Identity in
// ctx.state. Identity only ever comes from a verified token (CONTRACT §3).
//
// A present but invalid token (expired, malformed, wrongly signed, `alg: none`, or the literal
// `Bearer null` a front end sends when it has none):
// - on a public read (GET/HEAD under /city, at every prefix) counts as no token: the request is
//   served anonymously and the response says `WWW-Authenticate: Bearer error="invalid_token"`,
//   so a client can tell its token went stale;
// - everywhere else (every write, /secondme, anything not a public read) is refused with 401
//   and a message saying why ("Token expired").
import type { Context, Next } from "koa";
import { AppError } from "../core/errors.js";
import type { Identity, UserIdentity } from "./identity.js";
import { bearer, type TokenVerifier } from "./verify-token.js";

export interface AuthState {
  identity?: Identity;
  /** Why a token that was sent could not be used; set only when it was ignored (public read). */
  authError?: AppError;
}

/** The challenge sent with a response to a request whose token was not accepted (RFC 6750). */
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** Reads of public city data: they work without a token, so a bad one is ignored (CONTRACT §3).
 *  `path` is the path with its `/api` or `/v1` prefix already stripped (http/prefix.ts). */
export function isPublicRead(method: string, path: string): boolean {
  return (method === "GET" || method === "HEAD") && (path === "/city" || path.startsWith("/city/"));
}

/** The identity of an Authorization header value; throws unauthorized when it carries none. */
function identityOf(header: string, verify: TokenVerifier): Identity {
  const token = bearer(header);
  if (!token) throw new AppError("unauthorized", "Authorization must be 'Bearer <token>'");
  return verify(token);
}

export function authMiddleware(verify: TokenVerifier) {
  return async function authenticate(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get("authorization");
    if (header) {
      const state = ctx.state as AuthState;
      try {
        state.identity = identityOf(header, verify);
      } catch (raw) {
        const err = raw instanceof AppError ? raw : new AppError("unauthorized", "Invalid token");
        ctx.set("WWW-Authenticate", INVALID_TOKEN_CHALLENGE);
        if (!isPublicRead(ctx.method, ctx.path)) throw err;
        state.authError = err; // served anonymously
      }
    }
    await next();
  };
}

export function requireIdentity(ctx: Context): Identity {
  const state = ctx.state as AuthState;
  if (state.identity) return state.identity;
  // A public route that still wants a caller: say why the token that was sent did not count.
  if (state.authError) throw state.authError;
  ctx.set("WWW-Authenticate", "Bearer");
  throw new AppError("unauthorized", "Authentication required: send Authorization: Bearer <token>");
}

export function requireUser(ctx: Context): UserIdentity {
  const id = requireIdentity(ctx);
  if (id.kind !== "user") throw new AppError("forbidden", "This route is for users, not agent tokens");
  return id;
}
