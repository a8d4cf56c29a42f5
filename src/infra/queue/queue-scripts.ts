// Loads the queue's Lua scripts (`lua/<name>-<numKeys>.lua`) and defines them on a connection as
// commands; ioredis sends EVALSHA and falls back to EVAL once per connection.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

type Cmd<R> = (...args: (string | number)[]) => Promise<R>;

/** Command names carry a prefix so a connection shared with other capabilities stays safe. */
export interface QueueCommands {
  cityQueuePublishReply: Cmd<number>;
  cityQueueClaimReply: Cmd<string | null>;
  cityQueueLaneEnter: Cmd<(string | number)[]>;
  cityQueueLanePosition: Cmd<[string, string]>;
  cityQueueLaneLeave: Cmd<string | null>;
  cityQueueLaneDropHead: Cmd<[number, string]>;
}

const FILES: Record<keyof QueueCommands, string> = {
  cityQueuePublishReply: "publish-reply-3",
  cityQueueClaimReply: "claim-reply-2",
  cityQueueLaneEnter: "lane-enter-1",
  cityQueueLanePosition: "lane-position-1",
  cityQueueLaneLeave: "lane-leave-1",
  cityQueueLaneDropHead: "lane-drop-head-1",
};

const LUA_DIR = new URL("./lua/", import.meta.url);
let cache: Map<string, string> | undefined;

/** Lua source of each script, read once per process (no I/O at import time). */
function sources(): Map<string, string> {
  cache ??= new Map(Object.entries(FILES).map(([cmd, file]) => [cmd, readFileSync(new URL(`${file}.lua`, LUA_DIR), "utf8")]));
  return cache;
}

export type QueueRedis = Redis & QueueCommands;

export function defineQueueCommands(redis: Redis): QueueRedis {
  for (const [cmd, lua] of sources()) {
    const numberOfKeys = Number(FILES[cmd as keyof QueueCommands].split("-").pop());
    if (!(cmd in redis)) redis.defineCommand(cmd, { numberOfKeys, lua });
  }
  return redis as QueueRedis;
}
