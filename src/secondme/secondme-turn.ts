// One Second Me turn, as the queue's worker runs it (CONTRACT §8): store the prompt first, so it
// is never lost whatever the agent does; ask the agent with the conversation so far; store the
// reply; return it with the latest history. Safe to run again for the same ids (a retried or
// re-run job): nothing is stored twice and an already stored reply is not asked for again.
import { newId } from "../core/ids.js";
import type { AgentsCore } from "../infra/agents-core/agents-core.js";
import { buildAgentInput } from "./context.js";
import type { SecondMeRepo, StoredMessage } from "./secondme-repo.js";

export interface TurnInput {
  readonly userId: string;
  readonly prompt: string;
  /** The prompt's message id (minted by the API; also the job id). */
  readonly messageId: string;
  readonly replyId: string;
}

export interface TurnResult {
  readonly reply: StoredMessage;
  /** The user's last messages, oldest first, ending with the reply. */
  readonly history: StoredMessage[];
}

export interface SecondMeTurnDeps {
  readonly repo: SecondMeRepo;
  readonly agents: AgentsCore;
  readonly agentId: string;
  /** Earlier messages given to the agent. @defaultValue 10 */
  readonly contextSize?: number;
  /** Messages returned with the reply. @defaultValue 10 */
  readonly historySize?: number;
}

export const REPLY_HISTORY_SIZE = 10;

export function createSecondMeTurn(deps: SecondMeTurnDeps) {
  const contextSize = deps.contextSize ?? 10;
  const historySize = deps.historySize ?? REPLY_HISTORY_SIZE;

  return {
    async run(t: TurnInput): Promise<TurnResult> {
      const begun = await deps.repo.beginTurn({
        userId: t.userId,
        newSessionId: newId.session(),
        messageId: t.messageId,
        replyId: t.replyId,
        prompt: t.prompt,
        contextSize,
      });
      if (begun.storedReply) {
        return { reply: begun.storedReply, history: await deps.repo.lastMessages(t.userId, historySize) };
      }
      const answer = await deps.agents.invoke({
        agentId: deps.agentId,
        userId: t.userId,
        prompt: t.prompt,
        input: buildAgentInput(begun.context, t.prompt),
        channelId: `secondme:${t.userId}`,
        source: "secondme",
      });
      const history = await deps.repo.finishTurn({
        replyId: t.replyId,
        sessionId: begun.sessionId,
        userId: t.userId,
        reply: answer.text,
        historySize,
      });
      // Absent only when the user cleared the history during the turn: the reply is still theirs.
      const reply = history.find((m) => m.id === t.replyId) ?? { id: t.replyId, role: "assistant" as const, content: answer.text, createdAt: new Date() };
      return { reply, history };
    },
  };
}

export type SecondMeTurn = ReturnType<typeof createSecondMeTurn>;
