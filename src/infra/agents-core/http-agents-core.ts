// Agents Core over HTTP: POST {url}{invokePath} with the §8 body, one timeout per request.
// Node's fetch keeps connections alive, so a busy worker reuses its sockets to the agent.
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

export function invokeUrl(base: string, template: string, agentId: string): string {
  return base.replace(/\/+$/, "") + template.replaceAll("{agent_id}", encodeURIComponent(agentId));
}

export function createHttpAgentsCore(opts: HttpAgentsCoreOptions): AgentsCore {
  return {
    async invoke(req: AgentInvocation): Promise<AgentReply> {
      let res: Response;
      let raw: string;
      try {
        res = await fetch(invokeUrl(opts.url, opts.invokePath, req.agentId), {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(httpBody(req)),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        // The body is read under the same signal: a server that sends headers and then stalls
        // must time out too.
        raw = await res.text();
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === "TimeoutError" || name === "AbortError") {
          throw new AgentTimeoutError(`Agents Core did not answer within ${opts.timeoutMs} ms`);
        }
        throw new AgentUnreachableError("Agents Core is unreachable", { cause: err });
      }
      if (!res.ok) throw errorForStatus(res.status, retryAfterSeconds(res.headers.get("retry-after")));
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        throw new AgentFailedError("Agents Core answered with malformed JSON", false, res.status);
      }
      const text = replyText(body);
      if (text === undefined) throw new AgentFailedError("Agents Core answered without a reply", false, res.status);
      return { text };
    },
    async close() {
      /* fetch's pool needs no closing */
    },
  };
}
