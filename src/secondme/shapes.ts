// Wire shapes of Second Me history: the contract's `{role, content, created_at}` items, and the
// existing front end's `{id, prompt, response, created_at}` pairs (CONTRACT §10, `/v1` only).
import type { WireMessage } from "../infra/queue/secondme-job.js";
import type { StoredMessage } from "./secondme-repo.js";

export type { WireMessage };

export interface HistoryPair {
  readonly id: string;
  readonly prompt: string;
  /** null while the prompt has no reply (the agent failed, or is still thinking). */
  readonly response: string | null;
  readonly created_at: string;
}

export const toWire = (m: StoredMessage): WireMessage => ({ role: m.role, content: m.content, created_at: m.createdAt.toISOString() });

/** Pairs each prompt with the reply that follows it; a reply without its prompt (cut) is dropped. */
export function toPairs(messages: readonly StoredMessage[]): HistoryPair[] {
  const pairs: { id: string; prompt: string; response: string | null; created_at: string }[] = [];
  for (const m of messages) {
    const open = pairs.at(-1);
    if (m.role === "user") pairs.push({ id: m.id, prompt: m.content, response: null, created_at: m.createdAt.toISOString() });
    else if (open && open.response === null) open.response = m.content;
  }
  return pairs;
}
