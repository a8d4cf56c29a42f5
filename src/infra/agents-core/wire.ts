// The wire bodies of CONTRACT §8, and the tolerant reading of a reply. Deployed agents answer with
// different field names, so the reply text is the first present of a fixed list.
import type { AgentInvocation } from "./agents-core.js";

/** Fields that may carry the reply text, in order of preference. */
const REPLY_FIELDS = ["reply", "response_text", "response", "output", "text"] as const;

/**
 * The reply text of a decoded body, or undefined when it has none. `reply_text` is read too
 * (the NATS agents use it); an empty string counts as absent: it is no answer to show a user.
 */
export function replyText(body: unknown): string | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const o = body as Record<string, unknown>;
  for (const f of [...REPLY_FIELDS, "reply_text"]) {
    const v = storable(o[f]);
    if (v) return v;
  }
  const message = o.message;
  if (message && typeof message === "object") return storable((message as Record<string, unknown>).content);
  return undefined;
}

/** A text PostgreSQL can store: no NUL (an agent's stray NUL made the whole turn a 500) and no
 *  lone surrogate; undefined when nothing is left. */
function storable(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const s = v.replaceAll("\u0000", "").toWellFormed();
  return s.length > 0 ? s : undefined;
}

/** HTTP body: the contract's fields and the deployed agents service's fields together. */
export function httpBody(req: AgentInvocation) {
  return {
    input: req.input,
    context: { user_id: req.userId, kind: req.source },
    agent_id: req.agentId,
    message_text: req.prompt,
    channel_id: req.channelId,
    user_id: req.userId,
  };
}

/** NATS body for a request on `agents.invoke`. */
export function natsBody(req: AgentInvocation, now = new Date()) {
  return {
    event: "agents.invoke",
    agent_id: req.agentId,
    payload: { input: req.input, user_id: req.userId, source: req.source },
    channel_id: req.channelId,
    message_text: req.prompt,
    user_id: req.userId,
    ts: now.toISOString(),
  };
}

/** Seconds from a Retry-After value (delta seconds or an HTTP date); undefined when unusable. */
export function retryAfterSeconds(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
