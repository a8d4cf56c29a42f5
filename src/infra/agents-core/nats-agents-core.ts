// Agents Core over NATS: a request on `agents.invoke`, answered on the request's reply subject.
// A reply may say it failed with a numeric `status` (or `status_code`) of 400 or more; it is then
// read like the HTTP status of the same value.
import { ErrorCode, JSONCodec, type NatsError } from "nats";
import type { AgentInvocation, AgentReply, AgentsCore } from "./agents-core.js";
import { AgentFailedError, AgentTimeoutError, AgentUnreachableError, errorForStatus } from "./agents-core-errors.js";
import { closeNats, connectNats, type NatsConnection } from "./nats-connection.js";
import { natsBody, replyText } from "./wire.js";

export const AGENTS_INVOKE_SUBJECT = "agents.invoke";

export interface NatsAgentsCoreOptions {
  readonly natsUrl: string;
  readonly timeoutMs: number;
  /** @defaultValue `agents.invoke` */
  readonly subject?: string;
}

const jc = JSONCodec();

function failureStatus(body: unknown): number | undefined {
  if (!body || typeof body !== "object") return undefined;
  const o = body as Record<string, unknown>;
  const s = typeof o.status === "number" ? o.status : o.status_code;
  return typeof s === "number" && s >= 400 && s <= 599 ? s : undefined;
}

export function createNatsAgentsCore(opts: NatsAgentsCoreOptions): AgentsCore {
  const subject = opts.subject ?? AGENTS_INVOKE_SUBJECT;
  // Connected on first use, so building the driver opens nothing; a failed connect is forgotten
  // and tried again by the next invocation (and the job retried).
  let conn: Promise<NatsConnection> | undefined;
  const connection = () => {
    conn ??= connectNats(opts.natsUrl, "city-agents-invoke").catch((err) => {
      conn = undefined;
      throw new AgentUnreachableError("NATS is unreachable", { cause: err });
    });
    return conn;
  };

  return {
    async invoke(req: AgentInvocation): Promise<AgentReply> {
      const nc = await connection();
      let data: Uint8Array;
      try {
        data = (await nc.request(subject, jc.encode(natsBody(req)), { timeout: opts.timeoutMs })).data;
      } catch (err) {
        const code = (err as NatsError).code;
        if (code === ErrorCode.Timeout) throw new AgentTimeoutError(`Agents Core did not answer within ${opts.timeoutMs} ms`);
        if (code === ErrorCode.NoResponders) throw new AgentUnreachableError("No Agents Core listens on NATS", { cause: err });
        throw new AgentUnreachableError("NATS request failed", { cause: err });
      }
      let body: unknown;
      try {
        body = jc.decode(data);
      } catch {
        throw new AgentFailedError("Agents Core answered with malformed JSON", false);
      }
      const status = failureStatus(body);
      if (status !== undefined) {
        const retryAfter = (body as { retry_after?: unknown }).retry_after;
        throw errorForStatus(status, typeof retryAfter === "number" ? retryAfter : undefined);
      }
      const text = replyText(body);
      if (text === undefined) throw new AgentFailedError("Agents Core answered without a reply", false);
      return { text };
    },
    async close() {
      const pending = conn;
      conn = undefined;
      const nc = await pending?.catch(() => undefined);
      if (nc) await closeNats(nc);
    },
  };
}
