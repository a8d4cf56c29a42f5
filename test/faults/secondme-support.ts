// What the Second Me fault tests (Agents Core over HTTP, NATS down) share: the server settings that
// make failures quick to see, invoking and reading history over REST, waiting for the job process,
// and proving the queue drained.
import { Queue } from "bullmq";
import { SECONDME_QUEUE } from "../../src/infra/queue/queue-names.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { api } from "../support/api.js";
import type { TestServer } from "../support/server.js";
import { sleep } from "./support.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/** A run's own BullMQ and rate-limit prefixes, and timeouts and retries short enough for a test. */
export function secondMeFaultEnv(run: string, bullPrefix: string): Record<string, string> {
  return {
    BULLMQ_PREFIX: bullPrefix,
    RATE_LIMIT_PREFIX: `city:rl:test:${run}`,
    AGENTS_CORE_TIMEOUT_MS: "1500",
    SECONDME_TIMEOUT_MS: "4000",
    SECONDME_ATTEMPTS: "2",
    SECONDME_BACKOFF_MS: "20",
  };
}

export async function invoke(url: string, token: string, prompt: string): Promise<{ status: number; body: any }> {
  return api<any>(url, "POST", "/secondme/invoke", { token, body: { prompt } });
}

/** The user's own messages in the history, oldest first. */
export async function userPrompts(url: string, token: string): Promise<string[]> {
  const res = await api<{ role: string; content: string }[]>(url, "GET", "/secondme/history?limit=100", { token });
  return res.body.filter((m) => m.role === "user").map((m) => m.content);
}

/** Resolves once Second Me answers a prompt (the job process starts after the API). */
export async function untilAnswered(srv: TestServer, token: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const r = await invoke(srv.url, token, "are you there?");
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`Second Me never answered: ${JSON.stringify(r.body)}\n${srv.output()}`);
    await sleep(300);
  }
}

/** Resolves once the run's `secondme` queue holds no waiting, active or delayed job. */
export async function expectQueueDrained(bullPrefix: string, timeoutMs = 10_000): Promise<void> {
  const connection = createRedis(REDIS_URL, "bullmq", "city-test-faults");
  const queue = new Queue(SECONDME_QUEUE, { connection, prefix: bullPrefix });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children");
      if (Object.values(counts).every((c) => c === 0)) return;
      if (Date.now() > deadline) throw new Error(`the queue did not drain: ${JSON.stringify(counts)}`);
      await sleep(200);
    }
  } finally {
    await queue.close();
    await closeRedis(connection);
  }
}
