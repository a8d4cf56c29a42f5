// Replies that agents publish on their own on NATS `agents.reply` for a room (CONTRACT §8) are
// posted into that room through the same path as every message: author_agent_id set, feed kind
// agent_reply, broadcast to every subscriber. The reply's key is the message's client_message_id,
// so a reply delivered twice (JetStream redelivers what was not acknowledged) is stored once.
import type { Logger } from "../core/logger.js";
import type { KeyedAgentRoomReply } from "../infra/agents-core/agents-reply-consumer.js";
import { MAX_BODY_CHARS, messageInput } from "./inputs.js";
import type { RoomsService } from "./rooms-service.js";

export function createAgentReplyPoster(rooms: RoomsService, logger: Logger) {
  return async (reply: KeyedAgentRoomReply): Promise<void> => {
    // An agent's long answer is cut to what a room message may hold rather than lost.
    const text = [...reply.text].slice(0, MAX_BODY_CHARS).join("");
    const input = messageInput.safeParse({ body: text, client_message_id: reply.key });
    if (!input.success) {
      logger.warn({ agentId: reply.agentId, roomId: reply.roomId }, "agents.reply: ignored a reply with no usable text");
      return;
    }
    await rooms.postMessage({ kind: "agent", agentId: reply.agentId, name: undefined, admin: false }, reply.roomId, input.data);
  };
}
