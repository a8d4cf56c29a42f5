// REST for rooms and messages (CONTRACT §6 and the REST rows of §10).
import Router from "@koa/router";
import { z } from "zod";
import { requireIdentity } from "../../auth/koa-auth.js";
import { queryInt, queryLimit } from "../../core/text.js";
import { createRoomInput, messageInput } from "../../rooms/inputs.js";
import type { RoomsService } from "../../rooms/rooms-service.js";
import { parseBody, parseQuery } from "../validate.js";

export const listQuery = z.object({ limit: queryLimit(50, 200), offset: queryInt(0, 0, 1_000_000) });
export const historyQuery = z.object({
  limit: queryLimit(50, 200),
  before: z.string().max(64).optional(),
  after: z.string().max(64).optional(),
});

export function createRoomsRouter(rooms: RoomsService): Router {
  const router = new Router();

  router.get("/city/rooms", async (ctx) => {
    const q = parseQuery(listQuery, ctx.query);
    ctx.body = await rooms.listRooms(q.limit, q.offset);
  });

  router.post("/city/rooms", async (ctx) => {
    const who = requireIdentity(ctx);
    const input = parseBody(createRoomInput, ctx.request.body);
    ctx.status = 201;
    ctx.body = await rooms.createRoom(who, input);
  });

  router.get("/city/rooms/:roomId", async (ctx) => {
    ctx.body = await rooms.roomDetail(ctx.params.roomId!);
  });

  router.get("/city/rooms/:roomId/messages", async (ctx) => {
    const q = parseQuery(historyQuery, ctx.query);
    ctx.body = await rooms.history(ctx.params.roomId!, q);
  });

  router.post("/city/rooms/:roomId/messages", async (ctx) => {
    const who = requireIdentity(ctx);
    const input = parseBody(messageInput, ctx.request.body);
    const { message, created } = await rooms.postMessage(who, ctx.params.roomId!, input);
    ctx.status = created ? 201 : 200;
    ctx.body = message;
  });

  router.post("/city/rooms/:roomId/join", async (ctx) => {
    await rooms.join(requireIdentity(ctx), ctx.params.roomId!);
    ctx.status = 204;
  });

  router.post("/city/rooms/:roomId/leave", async (ctx) => {
    await rooms.leave(requireIdentity(ctx), ctx.params.roomId!);
    ctx.status = 204;
  });

  return router;
}
