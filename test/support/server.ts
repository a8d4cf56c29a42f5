// Starts the server for a test file and gives back its base URL.
import type { AddressInfo } from "node:net";
import { loadConfig } from "../../src/config/config.js";
import { createApp } from "../../src/app.js";
import { seedDefaultRooms } from "../../src/boot.js";
import { TEST_JWT_SECRET } from "./tokens.js";

export interface TestServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dbUrl = process.env.TEST_DATABASE_URL;
  if (!dbUrl) throw new Error("TEST_DATABASE_URL is not set: run through mocha's root hooks");
  return {
    NODE_ENV: "test",
    DATABASE_URL: dbUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0",
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: "error",
    ...extra,
  };
}

export async function startServer(extra: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig(testEnv(extra));
  await seedDefaultRooms(config.databaseUrl!, config.defaultRooms);
  const app = await createApp(config, { workerId: "1" });
  await new Promise<void>((resolve) => app.server.listen(0, "127.0.0.1", resolve));
  const port = (app.server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, stop: () => app.close() };
}
