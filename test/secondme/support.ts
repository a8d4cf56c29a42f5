// Second Me test rig: the stand-in Agents Core, the real server (test/support/server.ts) and a real
// `secondme` worker, all on one unique BullMQ prefix and unique user ids, so runs sharing this
// Redis never see each other's jobs. `stop` removes every key the prefix owns.
import { dropKeys } from "../support/redis-keys.js";
import { createRedis } from "../../src/infra/redis/redis.js";
import { followUserNotifications, type UserNotification } from "../../src/secondme/user-notifier.js";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/core/logger.js";
import { startAgentsCoreStandin, type AgentsCoreStandin } from "../../src/dev/agents-core-standin.js";
import { startSecondMeWorker, type SecondMeWorker } from "../../workers/secondme-worker.js";
import { startServer, testEnv, type TestServer } from "../support/server.js";
import { auth, userToken } from "../support/tokens.js";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
export const NATS_URL = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
export const ADMIN_TOKEN = "admin-token-for-secondme-tests-0123456789";

export interface Rig {
  readonly url: string;
  readonly standin: AgentsCoreStandin;
  readonly server: TestServer;
  readonly env: Record<string, string>;
  /** A fresh user id and its token. */
  user(name?: string): { id: string; token: string };
  stop(): Promise<void>;
}

export interface RigOptions {
  readonly transport?: "http" | "nats";
  /** Extra environment for the server and the worker. */
  readonly env?: Record<string, string>;
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const run = Math.random().toString(36).slice(2, 10);
  const standin = await startAgentsCoreStandin({ port: 0, natsUrl: NATS_URL });
  const env: Record<string, string> = {
    AGENTS_CORE_URL: standin.url,
    AGENTS_TRANSPORT: opts.transport ?? "http",
    NATS_URL,
    BULLMQ_PREFIX: `city:test:${run}:bull`,
    SECONDME_TIMEOUT_MS: "5000",
    SECONDME_BACKOFF_MS: "20",
    ADMIN_TOKEN,
    ...opts.env,
  };
  let server: TestServer | undefined;
  let worker: SecondMeWorker | undefined;
  try {
    server = await startServer(env);
    worker = await startSecondMeWorker(loadConfig(testEnv(env)), { logger: createLogger("error") });
  } catch (err) {
    await server?.stop();
    await standin.close();
    await dropKeys(`city:test:${run}:bull:*`);
    throw err;
  }
  let n = 0;
  return {
    url: server.url,
    standin,
    server,
    env,
    user(name = "user") {
      const id = `u_smtest_${run}_${name}_${n++}`;
      return { id, token: userToken(id) };
    },
    async stop() {
      await server.stop();
      await worker.close();
      await standin.close();
      await dropKeys(`city:test:${run}:bull:*`);
    },
  };
}

export interface Res<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function call<T = any>(base: string, method: string, path: string, token?: string, json?: unknown): Promise<Res<T>> {
  const headers: Record<string, string> = token ? auth(token) : {};
  if (json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await res.text();
  const body = (res.headers.get("content-type") ?? "").includes("application/json") && text ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: body as T };
}

export const invoke = (rig: Rig, token: string, prompt: string, prefix = "") => call(rig.url, "POST", `${prefix}/secondme/invoke`, token, { prompt });
export const history = (rig: Rig, token: string, query = "", prefix = "") => call(rig.url, "GET", `${prefix}/secondme/history${query}`, token);

/** Waits until `check` returns a value (not undefined), polling. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every Second Me notification published for `userId` (statuses and late replies), as the API processes hear them. */
export async function watchNotifications(userId: string): Promise<{ seen: UserNotification[]; close(): Promise<void> }> {
  const seen: UserNotification[] = [];
  const notes = followUserNotifications(createRedis(REDIS_URL, "bullmq", "city-test-notify"), (n) => void (n.userId === userId && seen.push(n)));
  await notes.ready;
  return { seen, close: () => notes.close() };
}
