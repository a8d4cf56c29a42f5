// Scenario 5, Second Me: bench/secondme.ts as it is (queue overhead of POST /secondme/invoke over a
// direct call to the stand-in Agents Core, alternating in rounds), in a child process against the
// run's Redis; its Markdown table is read back.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../lib/processes.js";
import type { Goal, ScenarioContext, ScenarioResult } from "../lib/report.js";

export async function secondme(ctx: ScenarioContext): Promise<ScenarioResult> {
  const out = path.join(ROOT, "bench/results/secondme.md");
  mkdirSync(path.dirname(out), { recursive: true });
  const env = {
    ...process.env,
    REDIS_URL: ctx.redisUrl,
    BENCH_WRITE: out,
    BENCH_USERS: "1,50@500,50",
    ...(ctx.full ? { BENCH_SECONDS: "4", BENCH_ROUNDS: "3" } : { BENCH_SECONDS: "2", BENCH_ROUNDS: "2" }),
  };
  ctx.log("secondme: running bench/secondme.ts");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/secondme.ts"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench/secondme.ts exited with ${code}`))));
  });
  const text = readFileSync(out, "utf8");
  const rows = text
    .split("\n")
    .filter((l) => /^\| \d/.test(l))
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim().replace(/\*/g, "")));
  // Back to back, 50 users keep 50 prompts outstanding, so their wait is queueing at the capacity
  // the row reports (invokes/s), not per-invoke overhead: that row is a capacity figure.
  const goals: Goal[] = rows
    .filter((r) => r[0] === "1" || r[1] !== "back to back")
    .map((r) => ({
      goal: `Second Me p50 overhead ≤ 5 ms (${r[0]} user${r[0] === "1" ? "" : "s"}, ${r[1]})`,
      measured: `${r[8]} ms (invoke p50 ${r[6]} ms vs direct ${r[4]} ms)`,
      met: Number(r[8]) <= 5,
    }));
  return {
    name: "secondme",
    tables: [
      {
        title: "Second Me: POST /secondme/invoke (API process + BullMQ job worker) against a direct call to the stand-in agent",
        columns: ["users", "prompts", "invokes", "invokes/s", "direct p50 ms", "direct p99 ms", "invoke p50 ms", "invoke p99 ms", "overhead p50 ms", "overhead p99 ms", "API+worker CPU ms/invoke"],
        rows,
        note: text.split("\n")[0],
      },
    ],
    goals,
  };
}
