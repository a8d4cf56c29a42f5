// Runs the stand-in Agents Core on its own: PORT (default 7002), HOST, and NATS_URL (optional;
// when set it also answers on `agents.invoke`).  node dist/src/dev/agents-core-standin-main.js
import { startAgentsCoreStandin } from "./agents-core-standin.js";

const port = Number(process.env.PORT ?? 7002);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}
const natsUrl = process.env.NATS_URL?.trim() || undefined;
const standin = await startAgentsCoreStandin({ port, host: process.env.HOST?.trim() || "127.0.0.1", natsUrl });
console.log(`stand-in Agents Core listening on ${standin.url}${natsUrl ? ` and on NATS ${natsUrl}` : ""}`);

let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void standin.close().then(() => process.exit(0));
  });
}
