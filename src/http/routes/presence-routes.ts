// REST for presence (CONTRACT §6): statuses of up to 200 users.
import Router from "@koa/router";
import { z } from "zod";
import type { PresenceService } from "../../presence/index.js";
import { parseQuery } from "../validate.js";

export const MAX_PRESENCE_IDS = 200;
const ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

export const presenceQuery = z.object({
  user_ids: z
    .string({ message: "is required: a comma-separated list of user ids" })
    .transform((s) => [...new Set(s.split(",").map((x) => x.trim()).filter(Boolean))])
    .refine((ids) => ids.length > 0, "must name at least one user id")
    .refine((ids) => ids.length <= MAX_PRESENCE_IDS, `must name at most ${MAX_PRESENCE_IDS} user ids`)
    .refine((ids) => ids.every((id) => ID.test(id)), "has an invalid user id"),
});

export function createPresenceRouter(presence: PresenceService): Router {
  const router = new Router();
  router.get("/city/presence", async (ctx) => {
    const q = parseQuery(presenceQuery, ctx.query);
    ctx.body = await presence.statuses(q.user_ids);
  });
  return router;
}
