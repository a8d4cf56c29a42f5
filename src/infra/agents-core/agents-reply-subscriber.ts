// Listens on `agents.reply` for what agents say on their own, and hands replies meant for a room
// (a `room_id`, or a `channel_id` of the form `room:<room_id>`) to a handler that posts them
// (CONTRACT §8, §9).
//
// Order. Replies an agent publishes back to back into one room must be stored (get their `seq`) in
// the order published. NATS delivers one connection's messages to one subscriber in order, but a
// queue group hands each message to a random member: with every API worker subscribed, two replies
// landed on two workers and raced to the database. So, per API cluster, exactly one process
// subscribes: the cluster worker in slot 1 (src/worker.ts; the primary replaces a dead worker in
// the same slot). It is an API worker rather than the job process (workers/) because posting needs
// the realtime hub: a message stored elsewhere would reach no socket until the room's next message
// (room streams fill a gap from PostgreSQL only once a later seq shows it). Inside the process,
// the replies of one room are posted strictly one after another (a promise chain per room), while
// different rooms proceed side by side.
//
// Exactly once. The subscription is in the deployment's queue group (AGENTS_REPLY_QUEUE_GROUP):
// with several machines, each reply is posted by exactly one of their slot-1 workers. Two replies
// to one room handled on different machines are then not ordered against each other; one machine
// (or one API cluster) keeps the order. While the slot-1 worker is being replaced, and while NATS
// is away, replies are not heard: core NATS keeps nothing for absent subscribers.
import { JSONCodec, type Subscription } from "nats";
import { DEFAULT_AGENTS_REPLY_QUEUE_GROUP } from "../../config/config.js";
import type { Logger } from "../../core/logger.js";
import { closeNats, connectNats } from "./nats-connection.js";
import { replyText } from "./wire.js";

export const AGENTS_REPLY_SUBJECT = "agents.reply";

export interface AgentRoomReply {
  readonly agentId: string;
  readonly roomId: string;
  readonly text: string;
}

export type AgentRoomReplyHandler = (reply: AgentRoomReply) => Promise<void>;

export interface AgentRepliesOptions {
  readonly natsUrl: string;
  readonly handler: AgentRoomReplyHandler;
  readonly logger: Logger;
  /** @defaultValue `city-agents-reply` (config: AGENTS_REPLY_QUEUE_GROUP; tests pass their own, to get a copy of every reply) */
  readonly queueGroup?: string;
  /** @defaultValue `agents.reply` */
  readonly subject?: string;
}

const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ROOM_CHANNEL = /^room:(.+)$/;
const jc = JSONCodec();

/** The room reply an `agents.reply` body carries, or undefined when it is for no room. */
export function parseAgentRoomReply(body: unknown): AgentRoomReply | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const o = body as Record<string, unknown>;
  const payload = o.payload && typeof o.payload === "object" ? (o.payload as Record<string, unknown>) : {};
  const agentId = o.agent_id ?? payload.agent_id;
  if (typeof agentId !== "string" || !AGENT_ID.test(agentId)) return undefined;
  let roomId = o.room_id ?? payload.room_id;
  const channel = o.channel_id ?? payload.channel_id;
  if (typeof roomId !== "string" && typeof channel === "string") roomId = ROOM_CHANNEL.exec(channel)?.[1];
  if (typeof roomId !== "string" || roomId.length === 0) return undefined;
  const text = replyText(o) ?? replyText(payload);
  return text === undefined ? undefined : { agentId, roomId, text };
}

export async function subscribeAgentReplies(opts: AgentRepliesOptions): Promise<{ close(): Promise<void> }> {
  const log = opts.logger.child({ module: "agents-reply" });
  const nc = await connectNats(opts.natsUrl, "city-agents-reply");
  // Replies to one room are posted one after another, so they keep the order NATS delivered.
  const tails = new Map<string, Promise<void>>();
  const post = (reply: AgentRoomReply) => {
    const run = (tails.get(reply.roomId) ?? Promise.resolve())
      .then(() => opts.handler(reply))
      .catch((e: unknown) => {
        // Never the text: only who and where.
        log.error({ err: (e as Error).message, agentId: reply.agentId, roomId: reply.roomId }, "posting an agent reply failed");
      });
    tails.set(reply.roomId, run);
    void run.then(() => {
      if (tails.get(reply.roomId) === run) tails.delete(reply.roomId);
    });
  };
  const sub: Subscription = nc.subscribe(opts.subject ?? AGENTS_REPLY_SUBJECT, {
    queue: opts.queueGroup ?? DEFAULT_AGENTS_REPLY_QUEUE_GROUP,
    callback: (err, msg) => {
      if (err) {
        log.warn({ err: err.message }, "agents.reply subscription error");
        return;
      }
      let body: unknown;
      try {
        body = jc.decode(msg.data);
      } catch {
        log.warn({ bytes: msg.data.length }, "agents.reply: ignored a body that is not JSON");
        return;
      }
      const reply = parseAgentRoomReply(body);
      if (reply) post(reply); // replies to other channels (Second Me, DMs) are not ours to post
    },
  });
  // The server knows the subscription only once it has read it: replies published before that
  // would be lost, so do not report ready until a round trip confirms it.
  await nc.flush();
  return {
    async close() {
      sub.unsubscribe();
      // Replies already taken finish posting (a chain may grow while an earlier link runs).
      while (tails.size) await Promise.all(tails.values());
      await closeNats(nc);
    },
  };
}
