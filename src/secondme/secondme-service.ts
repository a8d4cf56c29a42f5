// The reading side of Second Me for the API: history (both dialects), profile, clear. Every
// method takes the token's user id; there is no way to name another user, so one user's
// conversation never reaches another (and none of it is ever written to the public feed).
import type { SecondMeRepo } from "./secondme-repo.js";
import { toPairs, toWire, type HistoryPair, type WireMessage } from "./shapes.js";

export interface SecondMeProfile {
  readonly user_id: string;
  readonly agent_id: string;
  /** Prompts the user sent (each is one interaction, answered or not). */
  readonly total_interactions: number;
  readonly last_interaction: string | null;
}

export function createSecondMeService(deps: { repo: SecondMeRepo; agentId: string }) {
  const { repo } = deps;
  return {
    /** The last `limit` messages, oldest first. */
    async history(userId: string, limit: number): Promise<WireMessage[]> {
      return (await repo.lastMessages(userId, limit)).map(toWire);
    },

    /** The last `limit` prompts with their replies, oldest first (the `/v1` dialect). */
    async historyPairs(userId: string, limit: number): Promise<HistoryPair[]> {
      // Two messages per pair, plus one so a pair whose prompt sits just beyond the window is
      // not cut in half.
      return toPairs(await repo.lastMessages(userId, limit * 2 + 1)).slice(-limit);
    },

    async profile(userId: string): Promise<SecondMeProfile> {
      const s = await repo.stats(userId);
      return {
        user_id: userId,
        agent_id: deps.agentId,
        total_interactions: s.prompts,
        last_interaction: s.lastAt?.toISOString() ?? null,
      };
    },

    async clear(userId: string): Promise<void> {
      await repo.clear(userId);
    },
  };
}

export type SecondMeService = ReturnType<typeof createSecondMeService>;
