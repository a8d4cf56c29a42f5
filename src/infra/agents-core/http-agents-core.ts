// Agents Core over HTTP: POST {url}{invokePath} with the §8 body, one timeout per request.
// node:http with a keep-alive agent rather than fetch: measured here, fetch spent about four
// times the CPU per call, which a busy worker process pays on every turn.
import http from "node:http";
import https from "node:https";
import type { AgentInvocation, AgentReply, AgentsCore } from "./agents-core.js";
import { AgentFailedError, AgentTimeoutError, AgentUnreachableError, errorForStatus } from "./agents-core-errors.js";
import { httpBody, replyText, retryAfterSeconds } from "./wire.js";

export interface HttpAgentsCoreOptions {
  /** Base URL, e.g. `http://127.0.0.1:7002`. */
  readonly url: string;
  /** Path template; `{agent_id}` is replaced by the URL-encoded agent id. */
  readonly invokePath: string;
  readonly timeoutMs: number;
}

/** A reply larger than this is not a chat message; refuse it rather than buffer it. */
const MAX_REPLY_BYTES = 1 << 20;

export function invokeUrl(base: string, template: string, agentId: string): string {
  return base.replace(/\/+$/, "") + template.replaceAll("{agent_id}", encodeURIComponent(agentId));
}

interface RawResponse {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

class TooLarge extends Error {}

function post(url: URL, body: string, agent: http.Agent, timeoutMs: number): Promise<RawResponse> {
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    // The signal covers the whole exchange: a server that sends headers and then stalls times out too.
    const req = lib.request(url, {
      method: "POST",
      agent,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_REPLY_BYTES) req.destroy(new TooLarge());
        else chunks.push(c);
      });
      res.on("error", reject);
      res.on("end", () => {
        const ra = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(ra) ? ra[0] : ra, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.end(body);
  });
}

export function createHttpAgentsCore(opts: HttpAgentsCoreOptions): AgentsCore {
  const agent = new (opts.url.startsWith("https:") ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 256 });
  return {
    async invoke(req: AgentInvocation): Promise<AgentReply> {
      let res: RawResponse;
      try {
        res = await post(new URL(invokeUrl(opts.url, opts.invokePath, req.agentId)), JSON.stringify(httpBody(req)), agent, opts.timeoutMs);
      } catch (err) {
        if (err instanceof TooLarge) throw new AgentFailedError("Agents Core answered with an oversized body", false);
        const name = (err as { name?: string }).name;
        if (name === "TimeoutError" || name === "AbortError") {
          throw new AgentTimeoutError(`Agents Core did not answer within ${opts.timeoutMs} ms`);
        }
        throw new AgentUnreachableError("Agents Core is unreachable", { cause: err });
      }
      if (res.status < 200 || res.status > 299) throw errorForStatus(res.status, retryAfterSeconds(res.retryAfter));
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        throw new AgentFailedError("Agents Core answered with malformed JSON", false, res.status);
      }
      const text = replyText(body);
      if (text === undefined) throw new AgentFailedError("Agents Core answered without a reply", false, res.status);
      return { text };
    },
    async close() {
      agent.destroy();
    },
  };
}
