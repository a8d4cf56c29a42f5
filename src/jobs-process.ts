// `npm start` runs the BullMQ job workers (workers/main.ts) beside the API cluster as one child
// process, restarted if it dies, stopped with the rest. Under pm2 the jobs are their own app and
// CITY_JOBS=off keeps the API from starting a second copy.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { sibling } from "./config/package-root.js";

export interface JobsProcess {
  stop(timeoutMs?: number): Promise<void>;
}

/** dist/workers/main.js beside the build, workers/main.ts beside the sources. */
const ENTRY = sibling(path.resolve(import.meta.dirname, "../workers"), "main");

export function startJobsProcess(env: Record<string, string>, log: (level: "info" | "warn" | "error", msg: string) => void): JobsProcess {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;

  const start = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, [...process.execArgv, ENTRY], { env: { ...process.env, ...env }, stdio: "inherit" });
    child.once("exit", (code, signal) => {
      child = undefined;
      if (stopping) return;
      // Back off when it keeps dying at start-up; a long-lived child restarts at once.
      restarts = Date.now() - startedAt > 30_000 ? 0 : restarts + 1;
      const delay = Math.min(250 * 2 ** restarts, 10_000);
      log("error", `job workers exited (${signal ?? code}); restarting in ${delay} ms`);
      setTimeout(() => !stopping && start(), delay).unref();
    });
  };
  start();

  return {
    stop(timeoutMs = 30_000) {
      stopping = true;
      const c = child;
      if (!c || c.exitCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
        c.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        c.kill("SIGTERM");
      });
    },
  };
}
