// The cluster primary prepares the database (migrations, default rooms: src/boot.ts) in a
// short-lived child process: the primary only routes connections, and keeping pg and Prisma out of
// it keeps it small for its whole life. The child runs while the workers load their code.
import { fork } from "node:child_process";
import path from "node:path";
import { sibling } from "../../config/package-root.js";
import type { PrepareResult } from "../../boot.js";

/** Resolves with the migrations applied now; rejects with the child's one-line reason. */
export function prepareDatabaseInChild(databaseUrl: string): Promise<readonly string[]> {
  return new Promise((resolve, reject) => {
    const child = fork(sibling(path.resolve(import.meta.dirname, "../.."), "boot"), [], {
      env: { ...process.env, DATABASE_URL: databaseUrl, CITY_PREPARE_DATABASE: "1" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let result: PrepareResult | undefined;
    child.on("message", (m: PrepareResult) => (result = m));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (result?.applied && code === 0) resolve(result.applied);
      else reject(new Error(result?.error ?? `preparing the database failed (${signal ?? code})`));
    });
  });
}
