// bull-board at /admin/queues, for admins only: an admin JWT (`role: "admin"`) or the static
// ADMIN_TOKEN, sent as `Authorization: Bearer …`. A browser cannot set that header, so
// `?token=…` is accepted once and kept in an HttpOnly, SameSite=Strict cookie scoped to the board.
// Mounted before the body parser (bull-board parses its own bodies).
import { timingSafeEqual } from "node:crypto";
import type Koa from "koa";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { KoaAdapter } from "@bull-board/koa";
import { AppError } from "../../core/errors.js";
import { bearer, type TokenVerifier } from "../../auth/verify-token.js";

export interface QueuesBoardDeps {
  readonly queues: readonly Queue[];
  readonly verify: TokenVerifier;
  readonly adminToken: string | undefined;
  /** @defaultValue `/admin/queues` */
  readonly basePath?: string;
}

const COOKIE = "city_admin_token";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createQueuesBoard(deps: QueuesBoardDeps): Koa.Middleware {
  const base = deps.basePath ?? "/admin/queues";
  const adapter = new KoaAdapter();
  adapter.setBasePath(base);
  // @bull-board/koa pins its own patch release of @bull-board/api: same shapes, separate
  // declarations, so the types need a nudge.
  const serverAdapter = adapter as unknown as Parameters<typeof createBullBoard>[0]["serverAdapter"];
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q)), serverAdapter });
  const board = adapter.registerPlugin();

  /** Throws 401/403 unless `token` opens the board. */
  const check = (token: string) => {
    if (deps.adminToken && sameSecret(token, deps.adminToken)) return;
    const who = deps.verify(token); // 401 for a bad or expired token
    if (!who.admin) throw new AppError("forbidden", "The queue dashboard is for admins");
  };

  return async function queuesBoard(ctx, next) {
    if (ctx.path !== base && !ctx.path.startsWith(`${base}/`)) return next();
    const header = ctx.get("authorization");
    const query = typeof ctx.query.token === "string" ? ctx.query.token : undefined;
    const token = header ? bearer(header) : (query ?? ctx.cookies.get(COOKIE));
    if (!token) throw new AppError("unauthorized", "Admin credentials required: Authorization: Bearer <token>");
    check(token);
    if (query && !header) {
      // Scoped to the unprefixed base: bull-board's page points its assets and API calls there.
      ctx.cookies.set(COOKIE, query, { httpOnly: true, sameSite: "strict", path: base, secure: ctx.secure, overwrite: true });
    }
    await board(ctx, next);
  };
}
