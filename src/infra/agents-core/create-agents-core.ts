// The one switch choosing the Agents Core driver from config.
import type { Config } from "../../config/config.js";
import type { AgentsCore } from "./agents-core.js";
import { createHttpAgentsCore } from "./http-agents-core.js";
import { createNatsAgentsCore } from "./nats-agents-core.js";

export function createAgentsCore(agents: Config["agents"]): AgentsCore {
  switch (agents.transport) {
    case "http":
      if (!agents.url) {
        throw new Error("AGENTS_CORE_URL is not set (in development the stand-in is started when it is unset)");
      }
      return createHttpAgentsCore({ url: agents.url, invokePath: agents.invokePath, timeoutMs: agents.timeoutMs });
    case "nats":
      return createNatsAgentsCore({ natsUrl: agents.natsUrl, timeoutMs: agents.timeoutMs });
    default: {
      const never: never = agents.transport;
      throw new Error(`unknown AGENTS_TRANSPORT ${String(never)}`);
    }
  }
}
