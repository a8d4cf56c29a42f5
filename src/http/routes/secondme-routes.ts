// REST for Second Me (CONTRACT §6, §8 and the Second Me rows of §10). Users only: an agent's
// service token has no Second Me of its own (403). Everything is scoped to the token's user.
import Router from "@koa/router";
import { z } from "zod";
import { requireUser } from "../../auth/koa-auth.js";
import { queryLimit } from "../../core/text.js";
import { invokeInput } from "../../secondme/inputs.js";
import type { SecondMeInvoker } from "../../secondme/secondme-invoker.js";
import type { SecondMeService } from "../../secondme/secondme-service.js";
import { dialectOf } from "../prefix.js";
import { parseBody, parseQuery } from "../validate.js";

export interface SecondMeRouterDeps {
  readonly service: SecondMeService;
  readonly invoker: SecondMeInvoker;
}

export const historyQuery = z.object({ limit: queryLimit(5, 100) });

export function createSecondMeRouter(deps: SecondMeRouterDeps): Router {
  const router = new Router();

  router.post("/secondme/invoke", async (ctx) => {
    const { userId } = requireUser(ctx);
    const { prompt } = parseBody(invokeInput, ctx.request.body);
    const { reply, history } = await deps.invoker.invoke(userId, prompt, { reqId: (ctx.state as { reqId?: string }).reqId });
    // `response` too: the existing front end reads it (§10), on every prefix.
    ctx.body = { reply, response: reply, history };
  });

  router.get("/secondme/history", async (ctx) => {
    const { userId } = requireUser(ctx);
    const { limit } = parseQuery(historyQuery, ctx.query);
    ctx.body = dialectOf(ctx) === "v1" ? await deps.service.historyPairs(userId, limit) : await deps.service.history(userId, limit);
  });

  router.get("/secondme/profile", async (ctx) => {
    ctx.body = await deps.service.profile(requireUser(ctx).userId);
  });

  router.post("/secondme/history/clear", async (ctx) => {
    await deps.service.clear(requireUser(ctx).userId);
    ctx.status = 204;
  });

  return router;
}
