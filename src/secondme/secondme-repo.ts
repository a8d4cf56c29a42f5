// PostgreSQL access for Second Me. The two writes of a turn are single statements on the pool
// (each also reads what the turn needs next, saving a round trip on the hot path); reads and the
// clear use Prisma's model API, where it reads plainly.
import type { Database } from "../infra/db/database.js";
import type { ContextMessage } from "./context.js";

export type Role = "user" | "assistant";

export interface StoredMessage {
  readonly id: string;
  readonly role: Role;
  readonly content: string;
  readonly createdAt: Date;
}

export interface BegunTurn {
  readonly sessionId: string;
  /** Earlier messages of the session, oldest first, without the prompt itself. */
  readonly context: ContextMessage[];
  /** Set when this turn's reply is already stored (a job re-run after a crash): do not ask again. */
  readonly storedReply: StoredMessage | undefined;
}

// Stores the prompt in the user's latest session, creating the session when there is none, and
// returns the context before it. Idempotent on the message id: a retried job stores nothing twice.
// Every SELECT here sees the snapshot from before the statement, so `ctx` cannot include the new
// prompt; on a re-run (the prompt already stored) it is excluded by id.
const BEGIN_TURN = `
WITH latest AS (
  SELECT id FROM secondme_sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1
), created AS (
  INSERT INTO secondme_sessions (id, user_id) SELECT $2, $1 WHERE NOT EXISTS (SELECT 1 FROM latest)
  RETURNING id
), sess AS (
  SELECT id FROM latest UNION ALL SELECT id FROM created
), ins AS (
  INSERT INTO secondme_messages (id, session_id, user_id, role, content)
  SELECT $3, sess.id, $1, 'user', $4 FROM sess
  ON CONFLICT (id) DO NOTHING
  RETURNING session_id
)
SELECT
  COALESCE((SELECT session_id FROM ins), (SELECT session_id FROM secondme_messages WHERE id = $3)) AS session_id,
  (SELECT COALESCE(json_agg(json_build_object('role', c.role, 'content', c.content) ORDER BY c.created_at, c.id), '[]')
     FROM (SELECT role, content, created_at, id FROM secondme_messages
           WHERE session_id = (SELECT id FROM sess) AND id <> $3
           ORDER BY created_at DESC, id DESC LIMIT $5) c) AS context,
  (SELECT json_build_object('id', id, 'role', role, 'content', content, 'created_at', created_at)
     FROM secondme_messages WHERE id = $6) AS stored_reply`;

// Stores the reply (only while its session exists: a clear during the turn wins) and returns the
// user's latest messages, newest first, the reply among them.
const FINISH_TURN = `
WITH ins AS (
  INSERT INTO secondme_messages (id, session_id, user_id, role, content)
  SELECT $1, $2, $3, 'assistant', $4 WHERE EXISTS (SELECT 1 FROM secondme_sessions WHERE id = $2)
  ON CONFLICT (id) DO NOTHING
  RETURNING id, role, content, created_at
), prior AS (
  SELECT id, role, content, created_at FROM secondme_messages
  WHERE user_id = $3 ORDER BY created_at DESC, id DESC LIMIT $5
)
SELECT id, role, content, created_at FROM (
  SELECT * FROM ins UNION ALL SELECT * FROM prior WHERE id NOT IN (SELECT id FROM ins)
) h ORDER BY created_at DESC, id DESC LIMIT $5`;

interface MessageRow {
  id: string;
  role: Role;
  content: string;
  created_at: Date;
}

const toStored = (r: MessageRow): StoredMessage => ({ id: r.id, role: r.role, content: r.content, createdAt: new Date(r.created_at) });

export function createSecondMeRepo(db: Database) {
  const { pool, prisma } = db;
  return {
    async beginTurn(t: { userId: string; newSessionId: string; messageId: string; replyId: string; prompt: string; contextSize: number }): Promise<BegunTurn> {
      const { rows } = await pool.query<{ session_id: string | null; context: ContextMessage[]; stored_reply: MessageRow | null }>({
        name: "secondme_begin_turn",
        text: BEGIN_TURN,
        values: [t.userId, t.newSessionId, t.messageId, t.prompt, t.contextSize, t.replyId],
      });
      const row = rows[0];
      if (!row?.session_id) throw new Error("secondme: the prompt was not stored");
      return { sessionId: row.session_id, context: row.context, storedReply: row.stored_reply ? toStored(row.stored_reply) : undefined };
    },

    /** Stores the reply; returns the user's last `historySize` messages, oldest first. */
    async finishTurn(t: { replyId: string; sessionId: string; userId: string; reply: string; historySize: number }): Promise<StoredMessage[]> {
      const { rows } = await pool.query<MessageRow>({
        name: "secondme_finish_turn",
        text: FINISH_TURN,
        values: [t.replyId, t.sessionId, t.userId, t.reply, t.historySize],
      });
      return rows.map(toStored).reverse();
    },

    /** The user's last `limit` messages across sessions, oldest first. */
    async lastMessages(userId: string, limit: number): Promise<StoredMessage[]> {
      const rows = await prisma.secondMeMessage.findMany({
        where: { userId },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit,
        select: { id: true, role: true, content: true, createdAt: true },
      });
      return rows.map((r) => ({ ...r, role: r.role as Role })).reverse();
    },

    async stats(userId: string): Promise<{ prompts: number; lastAt: Date | null }> {
      const [prompts, last] = await Promise.all([
        prisma.secondMeMessage.count({ where: { userId, role: "user" } }),
        prisma.secondMeMessage.findFirst({ where: { userId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select: { createdAt: true } }),
      ]);
      return { prompts, lastAt: last?.createdAt ?? null };
    },

    /** Deletes the user's sessions; their messages go with them (ON DELETE CASCADE). */
    async clear(userId: string): Promise<void> {
      await prisma.secondMeSession.deleteMany({ where: { userId } });
    },
  };
}

export type SecondMeRepo = ReturnType<typeof createSecondMeRepo>;
