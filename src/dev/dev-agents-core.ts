// Development only: which Agents Core to use when AGENTS_CORE_URL is unset (CONTRACT §2 default
// http://127.0.0.1:7002). Production and test simply use the default URL; zero-config `npm start`
// needs Second Me to answer out of the box, so:
//   1. something already answers HTTP at the default address: a real Agents Core runs locally, use it;
//   2. else start the built-in stand-in listening there (port 7002), when the port is free;
//   3. else (the port is held by something that does not speak HTTP) the stand-in on a free port.
// The caller logs `note`, which says which of these was chosen.
import http from "node:http";
import type { Config } from "../config/config.js";
import type { AgentsCoreStandin } from "./agents-core-standin.js";

export interface DevAgentsCore {
  /** Agents Core's base URL to use. */
  readonly url: string;
  readonly choice: "running" | "standin" | "standin-free-port";
  /** One human sentence: where Agents Core is and why. */
  readonly note: string;
  /** Stops the stand-in when one was started here. */
  close(): Promise<void>;
}

export interface DevAgentsCoreOptions {
  /** How long the probe waits for an HTTP answer. @defaultValue 1000 */
  readonly probeTimeoutMs?: number;
}

/** True when this configuration leaves the choice of Agents Core to development (see above). */
export function devChoosesAgentsCore(config: Pick<Config, "env" | "agents">): boolean {
  return config.env === "development" && config.agents.transport === "http" && config.agents.urlIsDefault;
}

/** True when an HTTP server answers (any status) at `url` within `timeoutMs`. */
export function answersHttp(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: boolean) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    const req = http.get(new URL("/", url), { agent: false, timeout: timeoutMs, headers: { accept: "application/json" } }, (res) => {
      res.resume();
      req.destroy();
      finish(true);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => finish(false));
    req.on("close", () => finish(false));
  });
}

function isPortTaken(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL";
}

/**
 * Resolves the development Agents Core for `defaultUrl` (the config's default,
 * http://127.0.0.1:7002). Only http URLs on this machine are served by a stand-in.
 */
export async function resolveDevAgentsCore(defaultUrl: string, opts: DevAgentsCoreOptions = {}): Promise<DevAgentsCore> {
  const target = new URL(defaultUrl);
  if (await answersHttp(defaultUrl, opts.probeTimeoutMs ?? 1_000)) {
    return {
      url: defaultUrl,
      choice: "running",
      note: `${defaultUrl} (AGENTS_CORE_URL is unset; an Agents Core already answers there)`,
      close: async () => {},
    };
  }
  // Loaded only when it is started: the job process imports this module in every environment, and
  // the stand-in (with NATS and the Second Me context parser) is development-only code.
  const { startAgentsCoreStandin } = await import("./agents-core-standin.js");
  const host = target.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(target.port || 80);
  let standin: AgentsCoreStandin;
  try {
    standin = await startAgentsCoreStandin({ port, host });
    return {
      url: standin.url,
      choice: "standin",
      note: `${standin.url} (the built-in stand-in Agents Core: AGENTS_CORE_URL is unset and nothing answered there)`,
      close: () => standin.close(),
    };
  } catch (err) {
    if (!isPortTaken(err)) throw err;
  }
  standin = await startAgentsCoreStandin({ port: 0, host: "127.0.0.1" });
  return {
    url: standin.url,
    choice: "standin-free-port",
    note: `${standin.url} (the built-in stand-in Agents Core on a free port: AGENTS_CORE_URL is unset and ${target.host} is taken by something that does not answer HTTP)`,
    close: () => standin.close(),
  };
}
