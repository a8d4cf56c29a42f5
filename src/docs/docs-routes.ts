// GET /openapi.json and /asyncapi.json: the documents are built once, on first request, from the
// same schemas the routes and sockets validate with. Public: no token is looked at.
import { readFileSync } from "node:fs";
import path from "node:path";
import Router from "@koa/router";
import { buildOpenApi } from "./openapi.js";
import { buildAsyncApi } from "./asyncapi.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export function createDocsRouter(): Router {
  const version = packageVersion();
  const openapi = once(() => JSON.stringify(buildOpenApi({ version }), null, 2));
  const asyncapi = once(() => JSON.stringify(buildAsyncApi({ version }), null, 2));
  const router = new Router();
  router.get("/openapi.json", (ctx) => {
    ctx.type = "application/json";
    ctx.set("Cache-Control", "no-cache");
    ctx.body = openapi();
  });
  router.get("/asyncapi.json", (ctx) => {
    ctx.type = "application/json";
    ctx.set("Cache-Control", "no-cache");
    ctx.body = asyncapi();
  });
  return router;
}
