// The one switch choosing the Agents Core driver from config. The URL always has a value
// (AGENTS_CORE_URL, else http://127.0.0.1:7002); the per-call timeout defaults to
// SECONDME_TIMEOUT_MS (config.ts).
import type { Config } from "../../config/config.js";
import type { AgentsCore } from "./agents-core.js";
import { createHttpAgentsCore } from "./http-agents-core.js";
import { createNatsAgentsCore } from "./nats-agents-core.js";

export function createAgentsCore(agents: Config["agents"]): AgentsCore {
  switch (agents.transport) {
    case "http":
      return createHttpAgentsCore({ url: agents.url, invokePath: agents.invokePath, timeoutMs: agents.timeoutMs });
    case "nats":
      return createNatsAgentsCore({ natsUrl: agents.natsUrl, timeoutMs: agents.timeoutMs });
    default: {
      const never: never = agents.transport;
      throw new Error(`unknown AGENTS_TRANSPORT ${String(never)}`);
    }
  }
}
