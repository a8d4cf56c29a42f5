// Koa side of identity: reads `Authorization: Bearer`, verifies it, and puts the Identity in
// ctx.state. A present but invalid token is refused (401) even on public reads.
import type { Context, Next } from "koa";
import { AppError } from "../core/errors.js";
import type { Identity, UserIdentity } from "./identity.js";
import { bearer, type TokenVerifier } from "./verify-token.js";

export interface AuthState {
  identity?: Identity;
}

export function authMiddleware(verify: TokenVerifier) {
  return async function authenticate(ctx: Context, next: Next): Promise<void> {
    const header = ctx.get("authorization");
    if (header) {
      const token = bearer(header);
      if (!token) throw new AppError("unauthorized", "Authorization must be 'Bearer <token>'");
      (ctx.state as AuthState).identity = verify(token);
    }
    await next();
  };
}

export function requireIdentity(ctx: Context): Identity {
  const id = (ctx.state as AuthState).identity;
  if (!id) throw new AppError("unauthorized", "Authentication required: send Authorization: Bearer <token>");
  return id;
}

export function requireUser(ctx: Context): UserIdentity {
  const id = requireIdentity(ctx);
  if (id.kind !== "user") throw new AppError("forbidden", "This route is for users, not agent tokens");
  return id;
}
