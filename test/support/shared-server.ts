// One real server per distinct configuration for the whole test run: test files whose
// configuration is the same share it instead of each starting a cluster of its own (a start is
// most of a small file's time). A file that stops, kills or reconfigures its server must start
// its own (startServer). The root hooks stop these at the end of the run.
import { startServer, type TestServer } from "./server.js";

const servers = new Map<string, Promise<TestServer>>();

/**
 * A shared server lives through the whole run, beside the servers other files start for
 * themselves, so it must not take their work: it runs no job workers and queues on a prefix of its
 * own (another file's Second Me jobs are not its to run), and it has no NATS (it would also take,
 * and store a second time, the agents' room replies another file's server is there to post).
 * None of the files that share a server needs either.
 */
const QUIET: Readonly<Record<string, string>> = {
  CITY_JOBS: "off",
  BULLMQ_PREFIX: `city:test:shared:${process.pid}:bull`,
  NATS_URL: "nats://127.0.0.1:9", // the discard port: nothing answers
};

/** The run's server for `extra` (the environment startServer takes), started on first use. */
export function sharedServer(extra: Record<string, string> = {}): Promise<TestServer> {
  const key = JSON.stringify(Object.entries(extra).sort(([a], [b]) => a.localeCompare(b)));
  let server = servers.get(key);
  if (!server) {
    server = startServer({ ...QUIET, ...extra });
    servers.set(key, server);
  }
  return server;
}

export async function stopSharedServers(): Promise<void> {
  const all = [...servers.values()];
  servers.clear();
  await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.stop()));
}
