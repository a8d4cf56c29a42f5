// Loads the presence Lua scripts (`lua/<name>-<numKeys>.lua`, with `--- @include "x"` lines
// replaced by `lua/includes/x.lua`, as BullMQ does) and defines them on a connection as commands.
// ioredis sends EVALSHA and falls back to EVAL once per connection, also inside pipelines.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

type Cmd<R> = (...args: (string | number)[]) => Promise<R>;

/** The scripts as commands of a connection; names carry a prefix so a shared connection is safe. */
export interface PresenceCommands {
  cityPresenceHeartbeat: Cmd<number[]>;
  cityPresenceOpenConnection: Cmd<number>;
  cityPresenceCloseConnection: Cmd<number>;
  cityPresenceSettle: Cmd<string>;
  cityPresenceSweep: Cmd<[number, string]>;
  cityPresenceJoinRoom: Cmd<[number, number]>;
  cityPresenceLeaveRoom: Cmd<number>;
  cityPresenceOnlineUsers: Cmd<string[]>;
}

const FILES: Record<keyof PresenceCommands, string> = {
  cityPresenceHeartbeat: "heartbeat-2",
  cityPresenceOpenConnection: "open-connection-2",
  cityPresenceCloseConnection: "close-connection-2",
  cityPresenceSettle: "settle-2",
  cityPresenceSweep: "sweep-2",
  cityPresenceJoinRoom: "join-room-2",
  cityPresenceLeaveRoom: "leave-room-2",
  cityPresenceOnlineUsers: "online-users-2",
};

const LUA_DIR = new URL("./lua/", import.meta.url);
let cache: Map<string, string> | undefined;

function read(name: string): string {
  const src = readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
  return src.replace(/^--- @include "([\w-]+)"$/gm, (_, inc: string) => read(`includes/${inc}`));
}

/** Lua source of each script, read once per process (no I/O at import time). */
function sources(): Map<string, string> {
  cache ??= new Map(Object.entries(FILES).map(([cmd, file]) => [cmd, read(file)]));
  return cache;
}

export type PresenceRedis = Redis & PresenceCommands;

export function definePresenceCommands(redis: Redis): PresenceRedis {
  for (const [cmd, lua] of sources()) {
    const numberOfKeys = Number(FILES[cmd as keyof PresenceCommands].split("-").pop());
    if (!(cmd in redis)) redis.defineCommand(cmd, { numberOfKeys, lua });
  }
  return redis as PresenceRedis;
}
