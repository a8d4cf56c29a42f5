// PostgreSQL access for rooms and messages: single hand-written statements on the shared pool
// (Prisma's own queries ran at 0.3-0.5x of these, NOTES "PostgreSQL through Prisma 7"), except the
// idempotent seeding of the default rooms at start-up, which uses Prisma. Room membership is not
// here: it lives with presence in Redis (CONTRACT §4 allows no table beyond the seed's).
import type { Database } from "../infra/db/database.js";
import type { MessageRow, RoomRow } from "./room-model.js";

const ROOM_COLS = `id, slug, name, description, is_default, created_at, created_by, last_message_at`;
const MSG_COLS = `id, room_id, seq, author_user_id, author_agent_id, author_name, body, client_message_id, created_at`;

export interface NewMessage {
  id: string;
  roomId: string;
  authorUserId: string | null;
  authorAgentId: string | null;
  authorName: string;
  body: string;
  clientMessageId: string | null;
  feedEventId: string;
  feedKind: "room_message" | "agent_reply";
  snippet: string;
}

// One statement for a whole batch of messages (group commit: concurrent posts share one
// statement and one commit), atomic without a transaction. `dup` finds earlier messages with the
// same client_message_id: those are returned, not written. The rooms of the fresh messages are
// locked in id order (no deadlock between concurrent batches) and bumped by their count; their row
// lock orders concurrent writers, so seq order is commit order. Each message takes its seq in
// input order, and its feed event is written from the message's RETURNING. A message for an
// unknown room yields no row.
const INSERT_MESSAGES = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
    WITH ORDINALITY AS t(id, room_id, author_user_id, author_agent_id, author_name, body, client_message_id, feed_id, feed_kind, snippet, ord)
), dup AS (
  SELECT i.ord, c.id AS existing_id
  FROM input i JOIN city_room_messages c
    ON c.room_id = i.room_id AND c.client_message_id = i.client_message_id
   AND COALESCE(c.author_user_id, c.author_agent_id) = COALESCE(i.author_user_id, i.author_agent_id)
  WHERE i.client_message_id IS NOT NULL
), fresh AS (
  SELECT i.*, row_number() OVER (PARTITION BY i.room_id ORDER BY i.ord) AS rn, count(*) OVER (PARTITION BY i.room_id) AS n
  FROM input i WHERE i.ord NOT IN (SELECT ord FROM dup)
), locked AS (
  SELECT id FROM city_rooms WHERE id IN (SELECT room_id FROM fresh) ORDER BY id FOR UPDATE
), r AS (
  UPDATE city_rooms c SET last_seq = c.last_seq + x.n, last_message_at = now()
  FROM (SELECT room_id, max(n) AS n FROM fresh GROUP BY room_id) x
  WHERE c.id = x.room_id AND c.id IN (SELECT id FROM locked)
  RETURNING c.id, c.last_seq, c.last_message_at
), m AS (
  INSERT INTO city_room_messages (id, room_id, author_user_id, author_agent_id, author_name, body, client_message_id, seq, created_at)
  SELECT f.id, f.room_id, f.author_user_id, f.author_agent_id, f.author_name, f.body, f.client_message_id, r.last_seq - f.n + f.rn, r.last_message_at
  FROM fresh f JOIN r ON r.id = f.room_id
  RETURNING ${MSG_COLS}
), fe AS (
  INSERT INTO city_feed_events (id, kind, room_id, user_id, agent_id, payload, created_at)
  SELECT f.feed_id, f.feed_kind, m.room_id, m.author_user_id, m.author_agent_id,
         jsonb_build_object('message_id', m.id, 'body', m.body, 'snippet', f.snippet), m.created_at
  FROM m JOIN fresh f ON f.id = m.id
)
SELECT ${MSG_COLS.split(", ").map((c) => `m.${c}`).join(", ")}, true AS created, f.ord FROM m JOIN fresh f ON f.id = m.id
UNION ALL
SELECT ${MSG_COLS.split(", ").map((c) => `c.${c}`).join(", ")}, false AS created, d.ord FROM dup d JOIN city_room_messages c ON c.id = d.existing_id`;

export type InsertResult = { row: MessageRow; created: boolean } | undefined;

export function createRoomsRepo(db: Database) {
  const { pool, prisma } = db;
  return {
    /** Writes a batch; the result at index i answers input i. */
    async insertMessages(batch: readonly NewMessage[]): Promise<InsertResult[]> {
      const col = <K extends keyof NewMessage>(k: K) => batch.map((m) => m[k]);
      const { rows } = await pool.query<MessageRow & { created: boolean; ord: string | number }>({
        name: "city_insert_messages",
        text: INSERT_MESSAGES,
        values: [
          col("id"), col("roomId"), col("authorUserId"), col("authorAgentId"), col("authorName"),
          col("body"), col("clientMessageId"), col("feedEventId"), col("feedKind"), col("snippet"),
        ],
      });
      const out: InsertResult[] = batch.map(() => undefined);
      for (const { created, ord, ...row } of rows) out[Number(ord) - 1] = { row, created };
      return out;
    },

    async findMessageByClientId(roomId: string, authorId: string, clientMessageId: string): Promise<MessageRow | undefined> {
      const { rows } = await pool.query<MessageRow>({
        name: "city_message_by_client_id",
        text: `SELECT ${MSG_COLS} FROM city_room_messages
               WHERE room_id = $1 AND COALESCE(author_user_id, author_agent_id) = $2 AND client_message_id = $3`,
        values: [roomId, authorId, clientMessageId],
      });
      return rows[0];
    },

    async listRooms(limit: number, offset: number): Promise<RoomRow[]> {
      const { rows } = await pool.query<RoomRow>({
        name: "city_list_rooms",
        text: `SELECT ${ROOM_COLS} FROM city_rooms ORDER BY is_default DESC, created_at, id LIMIT $1 OFFSET $2`,
        values: [limit, offset],
      });
      return rows;
    },

    async getRoom(roomId: string): Promise<RoomRow | undefined> {
      const { rows } = await pool.query<RoomRow>({
        name: "city_get_room",
        text: `SELECT ${ROOM_COLS} FROM city_rooms WHERE id = $1`,
        values: [roomId],
      });
      return rows[0];
    },

    async roomLastSeq(roomId: string): Promise<number | undefined> {
      const { rows } = await pool.query<{ last_seq: number }>({
        name: "city_room_last_seq",
        text: `SELECT last_seq FROM city_rooms WHERE id = $1`,
        values: [roomId],
      });
      return rows[0]?.last_seq;
    },

    /** The latest `limit` messages, returned oldest first. */
    async latestMessages(roomId: string, limit: number): Promise<MessageRow[]> {
      const { rows } = await pool.query<MessageRow>({
        name: "city_latest_messages",
        text: `SELECT * FROM (SELECT ${MSG_COLS} FROM city_room_messages WHERE room_id = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq`,
        values: [roomId, limit],
      });
      return rows;
    },

    /** Messages with afterSeq < seq < beforeSeq: the first `limit` of them when paging forward
     *  (after given), else the last `limit` before `beforeSeq`; always returned oldest first. */
    async messagesBetween(roomId: string, afterSeq: number | null, beforeSeq: number | null, limit: number): Promise<MessageRow[]> {
      const forward = afterSeq !== null;
      const { rows } = await pool.query<MessageRow>({
        name: forward ? "city_messages_forward" : "city_messages_backward",
        text: forward
          ? `SELECT ${MSG_COLS} FROM city_room_messages WHERE room_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3)
             ORDER BY seq LIMIT $4`
          : `SELECT * FROM (SELECT ${MSG_COLS} FROM city_room_messages WHERE room_id = $1 AND seq > $2 AND ($3::bigint IS NULL OR seq < $3)
             ORDER BY seq DESC LIMIT $4) t ORDER BY seq`,
        values: [roomId, afterSeq ?? 0, beforeSeq, limit],
      });
      return rows;
    },

    async messageSeq(roomId: string, messageId: string): Promise<number | undefined> {
      const { rows } = await pool.query<{ seq: number }>({
        name: "city_message_seq",
        text: `SELECT seq FROM city_room_messages WHERE room_id = $1 AND id = $2`,
        values: [roomId, messageId],
      });
      return rows[0]?.seq;
    },

    /** Creates a room; returns undefined when the slug (or id) is taken. */
    async createRoom(r: { id: string; slug: string; name: string; description: string | null; createdBy: string; isDefault?: boolean }): Promise<RoomRow | undefined> {
      const { rows } = await pool.query<RoomRow>(
        `INSERT INTO city_rooms (id, slug, name, description, created_by, is_default) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING ${ROOM_COLS}`,
        [r.id, r.slug, r.name, r.description, r.createdBy, r.isDefault ?? false],
      );
      return rows[0];
    },

    /** Idempotent: several workers may start together and all call this. */
    async ensureDefaultRooms(rooms: { id: string; slug: string; name: string; description: string }[]): Promise<void> {
      // One at a time so created_at follows the configured order, which listings keep.
      for (const r of rooms) {
        await prisma.cityRoom.createMany({
          data: [{ id: r.id, slug: r.slug, name: r.name, description: r.description, isDefault: true }],
          skipDuplicates: true,
        });
      }
    },
  };
}

export type RoomsRepo = ReturnType<typeof createRoomsRepo>;
