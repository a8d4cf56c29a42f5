// Zero-config development: when nothing answers at REDIS_URL on this machine and a
// `redis-server` binary is on PATH, start one with its data under <dataDir>/redis. Production
// never starts its own Redis: an unreachable one is an error with one clear line.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => {
      s.write("PING\r\n");
      s.once("data", (d) => done(/PONG|NOAUTH/.test(d.toString())));
    });
    s.once("error", () => done(false));
  });
}

export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

export interface DevRedis {
  stop(): Promise<void>;
}

export async function ensureRedis(redisUrl: string, opts: { production: boolean; dataDir: string }): Promise<DevRedis | undefined> {
  const u = new URL(redisUrl);
  const host = u.hostname || "127.0.0.1";
  const port = Number(u.port || 6379);
  if (await answers(host, port)) return undefined;
  const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host);
  const hasBinary = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (opts.production || !local || !hasBinary) {
    throw new RedisUnavailableError(
      `Redis is not reachable at ${u.host}: start one (Debian: apt-get install redis-server) or set REDIS_URL`,
    );
  }
  const dir = path.resolve(opts.dataDir, "redis");
  await mkdir(dir, { recursive: true });
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  for (let i = 0; i < 50; i++) {
    if (await answers(host, port, 200)) {
      return {
        stop: () =>
          new Promise<void>((resolve) => {
            // Ctrl-C at the terminal reaches it too: it may have exited already.
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new RedisUnavailableError(`redis-server was started for development but does not answer on port ${port}`);
}
