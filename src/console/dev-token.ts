// Dev tokens for the console: a visitor may mint a token for any user id, so the console can be
// tried without an identity provider. Only where that impersonates nobody real: in development
// with the built-in development secret (JWT_SECRET unset), and in test. A development server
// given a real JWT_SECRET (a staging box that forgot NODE_ENV) must not hand out tokens its users'
// services would accept. Never in production, never with RS256 only (nothing to sign with); the
// route answers 404 there.
import jwt from "jsonwebtoken";
import { z } from "zod";
import type { Config } from "../config/config.js";
import { text } from "../core/text.js";

export const DEV_TOKEN_TTL_SECONDS = 12 * 60 * 60;

export const devTokenInput = z.object({
  user_id: z.string().regex(/^u_[A-Za-z0-9_.:@-]{1,120}$/, "must look like u_… (letters, digits, _ . : @ -)"),
  name: text(1, 100).optional(),
});

export interface DevToken {
  token: string;
  user_id: string;
  name: string | null;
  expires_at: string;
}

export interface DevTokenMinter {
  mint(input: z.infer<typeof devTokenInput>): DevToken;
}

/** A minter when dev tokens are allowed by this configuration, else undefined. */
export function createDevTokenMinter(config: Pick<Config, "env" | "jwt">): DevTokenMinter | undefined {
  const secret = config.jwt.secret;
  const throwaway = config.env === "test" || (config.env === "development" && config.jwt.isDevSecret);
  if (!throwaway || !secret) return undefined;
  return {
    mint({ user_id, name }) {
      const claims: Record<string, unknown> = { sub: user_id };
      if (name) claims.name = name;
      const token = jwt.sign(claims, secret, { algorithm: "HS256", expiresIn: DEV_TOKEN_TTL_SECONDS });
      const expires_at = new Date(Date.now() + DEV_TOKEN_TTL_SECONDS * 1000).toISOString();
      return { token, user_id, name: name ?? null, expires_at };
    },
  };
}
