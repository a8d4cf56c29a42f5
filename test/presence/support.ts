// Presence test helpers: unique ids per test (other runs share this Redis), cleanup of exactly
// the keys those ids own, and a listener on the transitions channel.
import type { Redis } from "ioredis";
import { loadConfig, type Config } from "../../src/config/config.js";
import { closeRedis, createRedis } from "../../src/infra/redis/redis.js";
import { presenceKeys, subscribeTransitions, type PresenceTransition } from "../../src/presence/index.js";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

export function presenceConfig(overrides: Partial<Config["presence"]> = {}): Config["presence"] {
  return { ...loadConfig({ NODE_ENV: "test" }).presence, ...overrides };
}

/** Fresh ids for one test; `cleanup` removes every key they touched. */
export function ids(redis: Redis) {
  const run = Math.random().toString(36).slice(2, 10);
  const users = new Set<string>();
  const rooms = new Set<string>();
  return {
    user(n: number | string = users.size) {
      const id = `u_ptest_${run}_${n}`;
      users.add(id);
      return id;
    },
    room(n: number | string = rooms.size) {
      const id = `room_ptest_${run}_${n}`;
      rooms.add(id);
      return id;
    },
    async cleanup() {
      const u = [...users];
      const pipe = redis.pipeline();
      for (const id of u) pipe.del(presenceKeys.user(id), presenceKeys.conns(id), presenceKeys.rooms(id));
      for (const id of rooms) pipe.del(presenceKeys.room(id));
      for (let i = 0; i < u.length; i += 1000) {
        pipe.zrem("city:presence:expiry", ...u.slice(i, i + 1000));
        pipe.hdel("city:presence:last_seen", ...u.slice(i, i + 1000));
      }
      await pipe.exec();
    },
  };
}

/** Records every transition published anywhere (filter by your own ids). */
export async function listenTransitions() {
  const sub = createRedis(REDIS_URL, "pubsub", "city-presence-test");
  const seen: PresenceTransition[] = [];
  const subscription = await subscribeTransitions(sub, (t) => seen.push(t));
  return {
    seen,
    of: (userId: string, status?: string) => seen.filter((t) => t.userId === userId && (!status || t.status === status)),
    async close() {
      await subscription.close();
      await closeRedis(sub);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or the time is up (pub/sub delivery is asynchronous). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}
