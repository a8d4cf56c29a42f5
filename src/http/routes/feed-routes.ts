// REST for the city feed (CONTRACT §6).
import Router from "@koa/router";
import { z } from "zod";
import { queryLimit } from "../../core/text.js";
import type { FeedService } from "../../feed/feed-service.js";
import { parseQuery } from "../validate.js";

export const feedQuery = z.object({ limit: queryLimit(20, 100), before: z.string().max(64).optional() });

export function createFeedRouter(feed: FeedService): Router {
  const router = new Router();
  router.get("/city/feed", async (ctx) => {
    const q = parseQuery(feedQuery, ctx.query);
    ctx.body = await feed.latest(q.limit, q.before || undefined);
  });
  return router;
}
