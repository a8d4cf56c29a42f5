// The city console at /console: a static page and its bundle, what the console may offer here
// (config.json), and dev tokens outside production. Mounted with the public routers (before the
// body parser and authentication): the page uses the public API with the token the visitor gives.
import Router from "@koa/router";
import { koaBody } from "koa-body";
import type { Context } from "koa";
import type { Config } from "../config/config.js";
import { AppError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { parseInput } from "../http/validate.js";
import { ensureConsoleBundle, type ConsoleAssets } from "./bundle.js";
import { createDevTokenMinter, devTokenInput } from "./dev-token.js";

export interface ConsoleRouterDeps {
  readonly config: Pick<Config, "env" | "jwt">;
  readonly logger: Logger;
  /** Start building the bundle now rather than on the first request. @defaultValue true */
  readonly prebuild?: boolean;
}

/** Heartbeat period the console uses (CONTRACT §7: every 20 s). */
export const CONSOLE_HEARTBEAT_MS = 20_000;

// Same-origin only; sockets to this host (ws: and wss:). No inline script or style.
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export function createConsoleRouter(deps: ConsoleRouterDeps): Router {
  const logger = deps.logger.child({ module: "console" });
  const minter = createDevTokenMinter(deps.config);
  let assets: Promise<ConsoleAssets> | undefined;
  const load = () =>
    (assets ??= ensureConsoleBundle({ log: (m) => logger.info(m) }).catch((err: unknown) => {
      assets = undefined; // try again on the next request
      logger.error({ err }, "console bundle could not be built");
      throw new AppError("unavailable", "The console bundle could not be built; run `npm run console:build` to see why");
    }));
  if (deps.prebuild ?? true) load().catch(() => {});

  const serve = (pick: (a: ConsoleAssets) => Buffer, type: string) => async (ctx: Context) => {
    const a = await load();
    ctx.type = type;
    ctx.set("Cache-Control", "no-cache");
    ctx.set("ETag", `"${a.fingerprint}"`);
    ctx.set("X-Content-Type-Options", "nosniff");
    if (ctx.get("If-None-Match") === `"${a.fingerprint}"`) {
      ctx.status = 304;
      return;
    }
    ctx.body = pick(a);
  };

  const router = new Router();
  const page = serve((a) => a.html, "text/html; charset=utf-8");
  router.get("/console", async (ctx) => {
    ctx.set("Content-Security-Policy", CSP);
    ctx.set("Referrer-Policy", "no-referrer");
    await page(ctx);
  });
  router.get("/console/console.js", serve((a) => a.js, "text/javascript; charset=utf-8"));
  router.get("/console/console.css", serve((a) => a.css, "text/css; charset=utf-8"));
  router.get("/console/config.json", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { dev_tokens: minter !== undefined, heartbeat_ms: CONSOLE_HEARTBEAT_MS };
  });
  router.post("/console/dev-token", koaBody({ jsonLimit: "4kb", text: false, urlencoded: false, multipart: false }), (ctx) => {
    if (!minter) throw new AppError("not_found", "Dev tokens are not available on this server");
    const input = parseInput(devTokenInput, ctx.request.body ?? {});
    ctx.set("Cache-Control", "no-store");
    ctx.body = minter.mint(input);
  });
  return router;
}
