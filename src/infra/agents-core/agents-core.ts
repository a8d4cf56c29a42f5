// The Agents Core port (CONTRACT §8). The capabilities see only this interface; the http and nats
// drivers behind it are chosen once from config (create-agents-core.ts).

export interface AgentInvocation {
  /** The agent to run, e.g. `ag_secondme_global`. */
  readonly agentId: string;
  /** The user the agent speaks for; also the `user_id` of the wire body. */
  readonly userId: string;
  /** The user's own words, sent as `message_text`. */
  readonly prompt: string;
  /** The prompt with its conversation context, sent as `input` (format: secondme/context.ts). */
  readonly input: string;
  /** Where the answer belongs, e.g. `secondme:<user_id>`. */
  readonly channelId: string;
  /** What asks: `context.kind` over HTTP, `payload.source` over NATS. */
  readonly source: "secondme";
}

export interface AgentReply {
  readonly text: string;
}

export interface AgentsCore {
  /** Resolves with the agent's reply or rejects with an AgentsCoreError (agents-core-errors.ts). */
  invoke(req: AgentInvocation): Promise<AgentReply>;
  close(): Promise<void>;
}
