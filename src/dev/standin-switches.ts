// Switches of the stand-in Agents Core: markers in the user's message (or a sticky mode set over
// the admin endpoint) that make it misbehave on purpose, so tests can drive every failure path.
//
//   [[slow:1500]]        wait 1500 ms before answering
//   [[fail:500]]         answer with that status (any 400-599; 429 sends Retry-After: 1)
//   [[failfirst:2]]      fail with 500 the first 2 times this user sends this message, then answer
//   [[malformed]]        answer 200 with a body that is not JSON
//   [[noreply]]          answer 200 with JSON that has no reply field
//   [[field:output]]     put the reply under that field (reply, response_text, response, output,
//                        text, reply_text, message.content) instead of the default

export interface Switches {
  slowMs?: number;
  failStatus?: number;
  failFirst?: number;
  malformed?: boolean;
  noReply?: boolean;
  field?: string;
}

const FIELDS = new Set(["reply", "response_text", "response", "output", "text", "reply_text", "message.content"]);
const MARKER = /\[\[([a-z]+)(?::([^\]]*))?\]\]/g;

export function parseSwitches(...sources: (string | undefined)[]): Switches {
  const s: Switches = {};
  for (const src of sources) {
    if (!src) continue;
    for (const m of src.matchAll(MARKER)) {
      const [, name, arg = ""] = m;
      const n = Number(arg);
      if (name === "slow" && Number.isFinite(n)) s.slowMs = Math.min(Math.max(n, 0), 600_000);
      else if (name === "fail" && n >= 400 && n <= 599) s.failStatus = n;
      else if (name === "failfirst" && n >= 0) s.failFirst = n;
      else if (name === "malformed") s.malformed = true;
      else if (name === "noreply") s.noReply = true;
      else if (name === "field" && FIELDS.has(arg)) s.field = arg;
    }
  }
  return s;
}

/** The reply body with the text under the chosen field. */
export function replyBody(text: string, field: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (field === "message.content") return { ...extra, message: { role: "assistant", content: text } };
  return { ...extra, [field]: text };
}
