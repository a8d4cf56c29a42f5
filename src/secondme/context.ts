// The `input` sent to the agent: the user's prompt with the conversation so far. Readable by a
// language model, and countable by a program (the stand-in reports how many turns it saw):
//
//   Conversation so far (oldest first):
//   [user] first line of an earlier message
//     continuation lines are indented by two spaces
//   [assistant] an earlier reply
//
//   Current message:
//   <the prompt, verbatim>
//
// With no earlier messages only the last two parts are sent. Each context message starts exactly
// one line with `[user] ` or `[assistant] `; its other lines are indented so none can start another.

export interface ContextMessage {
  readonly role: "user" | "assistant";
  readonly content: string;
}

const HEADER = "Conversation so far (oldest first):";
const CURRENT = "Current message:";

export function buildAgentInput(context: readonly ContextMessage[], prompt: string): string {
  if (context.length === 0) return `${CURRENT}\n${prompt}`;
  const lines = context.map((m) => `[${m.role}] ${m.content.replace(/\r?\n/g, "\n  ")}`);
  return `${HEADER}\n${lines.join("\n")}\n\n${CURRENT}\n${prompt}`;
}

/** Splits an input built above into its context count and current message (for the stand-in). */
export function parseAgentInput(input: string): { contextCount: number; message: string } {
  if (input.startsWith(`${CURRENT}\n`)) return { contextCount: 0, message: input.slice(CURRENT.length + 1) };
  // Context lines never hold an empty line (continuations are indented), so the first blank line
  // followed by the marker ends the context, whatever the messages say.
  const end = input.indexOf(`\n\n${CURRENT}\n`);
  if (!input.startsWith(`${HEADER}\n`) || end < 0) return { contextCount: 0, message: input };
  const contextCount = input
    .slice(HEADER.length + 1, end)
    .split("\n")
    .filter((l) => /^\[(user|assistant)\] /.test(l)).length;
  return { contextCount, message: input.slice(end + CURRENT.length + 3) };
}
