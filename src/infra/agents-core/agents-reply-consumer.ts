// Agents' own room replies (CONTRACT §8, §9): agents publish on NATS `agents.reply` with plain core
// `publish`; a JetStream stream captures the subject, and one durable consumer per deployment hands
// each reply to `post` (which stores it in its room), acknowledging it only once it is committed.
//
// Nothing lost: the stream keeps what is published while no consumer runs (the consuming process
// restarting) and, on file storage, across a NATS restart; a reply not acknowledged (its process
// died mid-post, the ack was lost) is delivered again after ACK_WAIT.
// Nothing doubled: every reply is posted with an idempotency key (the reply's own id when it has
// one, else the stream's sequence), so a redelivery returns the message stored the first time.
// One order: the consumer allows one unacknowledged reply at a time (max_ack_pending 1) for all of
// its subscribers together, wherever they run, so replies are stored in stream order, which is
// publish order for one publisher; two consuming processes (or machines) cannot reorder them.
// That costs throughput: one post at a time, measured at 340 replies/s with a post that does
// nothing and 200/s with a 2 ms one (2 cores under load ~10), far above what agents say in rooms.
import { createHash } from "node:crypto";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JSONCodec,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
  type JsMsg,
} from "nats";
import { DEFAULT_AGENTS_REPLY_QUEUE_GROUP } from "../../config/config.js";
import { AppError, isUnavailable } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import { closeNats, connectNats, type NatsConnection } from "./nats-connection.js";
import { replyText } from "./wire.js";

export const AGENTS_REPLY_SUBJECT = "agents.reply";
/** The stream that keeps `agents.reply`, unless one already captures the subject (it is then used). */
export const AGENTS_REPLY_STREAM = "CITY_AGENTS_REPLY";

export interface AgentRoomReply {
  readonly agentId: string;
  readonly roomId: string;
  readonly text: string;
  /** The reply's own id, when the agent gave it one (`reply_id`, `message_id`, `id`, or a Nats-Msg-Id header). */
  readonly id?: string;
}

/** A reply as it is posted: with the idempotency key its redeliveries share. */
export interface KeyedAgentRoomReply extends AgentRoomReply {
  /** Printable ASCII, at most 128 characters (a room message's `client_message_id`). */
  readonly key: string;
}

/** Stores one reply in its room; resolves once it is committed. Posting a key twice stores it once. */
export type AgentReplyPost = (reply: KeyedAgentRoomReply) => Promise<void>;

export interface AgentRepliesConsumerOptions {
  readonly natsUrl: string;
  readonly post: AgentReplyPost;
  readonly logger: Logger;
  /** The durable consumer: one per deployment (AGENTS_REPLY_QUEUE_GROUP). @defaultValue `city-agents-reply` */
  readonly durable?: string;
  /** @defaultValue `agents.reply` */
  readonly subject?: string;
  /** Used when no stream captures the subject yet. @defaultValue `CITY_AGENTS_REPLY` */
  readonly stream?: string;
  /** How long a delivered reply may stay unacknowledged before it is delivered again (tests shorten it). @defaultValue 10 s */
  readonly ackWaitMs?: number;
}

export interface AgentRepliesConsumer {
  /** Resolves once the stream and the consumer exist and replies are being pulled. */
  readonly ready: Promise<void>;
  /** Stops pulling; a reply being posted finishes (and is acknowledged) first. */
  close(): Promise<void>;
}

const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ROOM_CHANNEL = /^room:(.+)$/;
const PLAIN_KEY = /^[\x21-\x7e]{1,100}$/;
const jc = JSONCodec();

/** How long a delivered reply may stay unacknowledged before it is delivered again. */
const ACK_WAIT_MS = 10_000;
/** A deployment's consumer unused this long is removed by NATS (test runs leave theirs behind). */
const CONSUMER_IDLE_MS = 24 * 3_600_000;
/** While a post runs, JetStream is told it is in progress this often (a slow commit is no loss). */
const WORKING_EVERY_MS = 3_000;
/** How long one pull waits for a reply before asking again. */
const PULL_EXPIRES_MS = 5_000;
/** A reply whose post keeps failing for another reason than a dependency being away is dropped after this many tries. */
const MAX_TRIES_FOR_A_BUG = 5;
/** The stream keeps replies this long (a consumer away for longer misses them). */
const KEEP_MS = 24 * 3_600_000;

const firstString = (...vs: unknown[]) => vs.find((v): v is string => typeof v === "string" && v.length > 0);

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
  if (text === undefined) return undefined;
  const id = firstString(o.reply_id, o.message_id, o.id, payload.reply_id, payload.message_id, payload.id);
  return id === undefined ? { agentId, roomId, text } : { agentId, roomId, text, id };
}

/**
 * The idempotency key of a reply: its own id (hashed when it is not short printable ASCII), else
 * the stream's sequence, qualified by the stream's creation so a re-created stream starts afresh.
 */
export function replyKey(reply: AgentRoomReply, stream: { name: string; createdMs: number; seq: number }): string {
  if (reply.id !== undefined) {
    return PLAIN_KEY.test(reply.id) ? `ar:id:${reply.id}` : `ar:idh:${createHash("sha256").update(reply.id).digest("hex").slice(0, 64)}`;
  }
  return `ar:seq:${stream.name.slice(0, 40)}:${stream.createdMs}:${stream.seq}`;
}

/** A NATS durable name is one token: no dots, wildcards or whitespace. */
const durableName = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "_");

/** Finds the stream that captures `subject`, or creates ours. Returns its name and creation time. */
async function ensureStream(jsm: JetStreamManager, subject: string, name: string): Promise<{ name: string; createdMs: number }> {
  let found: string | undefined = await jsm.streams.find(subject).catch(() => undefined);
  if (!found) {
    try {
      await jsm.streams.add({
        name,
        subjects: [subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(KEEP_MS),
      });
    } catch (err) {
      // Another process created it meanwhile: use it.
      if (!/already in use|name already/i.test((err as Error).message)) throw err;
    }
    found = name;
  }
  const info = await jsm.streams.info(found);
  return { name: found, createdMs: Date.parse(info.created) };
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, subject: string, ackWaitMs: number): Promise<void> {
  const existing = await jsm.consumers.info(stream, durable).catch(() => undefined);
  if (existing) return;
  try {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      // A deployment's first consumer starts with what comes next, not a day of old replies.
      deliver_policy: DeliverPolicy.New,
      // One unacknowledged reply at a time for all subscribers: replies are stored in stream order.
      max_ack_pending: 1,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      // As long as the stream keeps replies: a consumer idle for longer would have missed them anyway.
      inactive_threshold: nanos(CONSUMER_IDLE_MS),
    });
  } catch (err) {
    if (!/already in use|exists/i.test((err as Error).message)) throw err;
  }
}

export function startAgentRepliesConsumer(opts: AgentRepliesConsumerOptions): AgentRepliesConsumer {
  const log = opts.logger.child({ module: "agents-reply" });
  const subject = opts.subject ?? AGENTS_REPLY_SUBJECT;
  const durable = durableName(opts.durable ?? DEFAULT_AGENTS_REPLY_QUEUE_GROUP);
  let closing = false;
  let nc: NatsConnection | undefined;
  /** The reply being handled, so close() lets it finish and be acknowledged. */
  let current: Promise<void> | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  /** Wakes the loop's backoff sleep when closing. */
  let wake: (() => void) | undefined;
  const pause = (ms: number) => new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    wake = () => (clearTimeout(t), r());
  });
  let trouble: string | undefined;
  const troubled = (what: string, err: unknown) => {
    if (trouble === undefined) log.warn({ err: (err as Error)?.message }, `agents.reply: ${what}; retrying until it works`);
    trouble = what;
  };
  const recovered = () => {
    if (trouble !== undefined) log.info(`agents.reply: consuming again (was: ${trouble})`);
    trouble = undefined;
  };

  /** Handles one delivered message: post, then acknowledge; or say when to try again. */
  async function handle(m: JsMsg, stream: { name: string; createdMs: number }): Promise<void> {
    let body: unknown;
    try {
      body = jc.decode(m.data);
    } catch {
      log.warn({ bytes: m.data.length, seq: m.seq }, "agents.reply: ignored a body that is not JSON");
      return m.term();
    }
    const parsed = parseAgentRoomReply(body);
    // Replies to other channels (Second Me, DMs) are not ours to post.
    if (!parsed) return m.ack();
    const msgId = m.headers?.get("Nats-Msg-Id");
    const reply = parsed.id === undefined && msgId ? { ...parsed, id: msgId } : parsed;
    const keyed = { ...reply, key: replyKey(reply, { ...stream, seq: m.seq }) };
    const working = setInterval(() => m.working(), Math.min(WORKING_EVERY_MS, (opts.ackWaitMs ?? ACK_WAIT_MS) / 3));
    try {
      await opts.post(keyed);
    } catch (err) {
      // Never the text: only who and where.
      const who = { agentId: reply.agentId, roomId: reply.roomId, seq: m.seq, tries: m.info.redeliveryCount };
      if (isUnavailable(err)) {
        // PostgreSQL is away: try this same reply again shortly; later ones wait behind it.
        return m.nak(Math.min(1_000 * m.info.redeliveryCount, 10_000));
      }
      if (err instanceof AppError && err.code === "rate_limited") {
        // The agent posts faster than an author may (CONTRACT §13): this reply waits its turn, and
        // the ones behind it wait behind it, rather than being dropped.
        const wait = err.details?.retryAfter;
        return m.nak(typeof wait === "number" ? Math.max(wait * 1_000, 100) : 1_000);
      }
      if (err instanceof AppError && err.status < 500) {
        log.warn({ ...who, code: err.code }, `agents.reply: dropped a reply that cannot be posted (${err.message})`);
        return m.term();
      }
      if (m.info.redeliveryCount >= MAX_TRIES_FOR_A_BUG) {
        log.error({ ...who, err }, "agents.reply: dropped a reply whose post keeps failing");
        return m.term();
      }
      log.error({ ...who, err }, "agents.reply: posting a reply failed; it will be tried again");
      return m.nak(1_000);
    } finally {
      clearInterval(working);
    }
    // Committed: acknowledge. Not waited for: the next pull goes out behind it on the same
    // connection, so JetStream counts it first; a lost ack means one more delivery, which the key
    // makes harmless.
    m.ack();
  }

  async function loop(): Promise<void> {
    while (!closing) {
      try {
        nc ??= await connectNats(opts.natsUrl, "city-agents-reply");
        const jsm = await nc.jetstreamManager();
        const stream = await ensureStream(jsm, subject, opts.stream ?? AGENTS_REPLY_STREAM);
        await ensureConsumer(jsm, stream.name, durable, subject, opts.ackWaitMs ?? ACK_WAIT_MS);
        const consumer = await nc.jetstream().consumers.get(stream.name, durable);
        markReady();
        recovered();
        while (!closing) {
          const m = await consumer.next({ expires: PULL_EXPIRES_MS });
          if (!m) continue;
          current = handle(m, stream);
          await current;
          current = undefined;
          recovered();
        }
      } catch (err) {
        if (closing) break;
        troubled(nc ? "JetStream is unavailable" : "NATS is unreachable", err);
        await pause(1_000);
      }
    }
  }
  const running = loop();

  return {
    ready,
    async close() {
      closing = true;
      wake?.();
      // The reply being posted finishes and is acknowledged; then the connection goes, which also
      // ends a pull in progress.
      await current?.catch(() => {});
      const conn = nc;
      if (conn) await closeNats(conn);
      await running;
    },
  };
}
