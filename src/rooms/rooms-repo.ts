// PostgreSQL access for rooms and messages. The hot paths (message write, history, listings) are
// single hand-written statements on the shared pool; room creation and membership use Prisma.
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

// One statement, so it is atomic without a transaction (NOTES: ~1.7x a BEGIN/2 INSERT/COMMIT).
// `dup` finds an earlier message with the same client_message_id; when there is one nothing is
// written and that message is returned. Otherwise the room row is bumped (its row lock orders
// concurrent writers, so seq order is commit order), the message takes the new seq, and the feed
// event is written from the message's RETURNING. An unknown room yields no row at all.
const INSERT_MESSAGE = `
WITH dup AS (
  SELECT id FROM city_room_messages
  WHERE $7::text IS NOT NULL AND room_id = $2
    AND COALESCE(author_user_id, author_agent_id) = COALESCE($3::text, $4::text)
    AND client_message_id = $7
), r AS (
  UPDATE city_rooms SET last_seq = last_seq + 1, last_message_at = now()
  WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM dup)
  RETURNING id, last_seq, last_message_at
), m AS (
  INSERT INTO city_room_messages (id, room_id, author_user_id, author_agent_id, author_name, body, client_message_id, seq, created_at)
  SELECT $1, r.id, $3, $4, $5, $6, $7, r.last_seq, r.last_message_at FROM r
  RETURNING ${MSG_COLS}
), f AS (
  INSERT INTO city_feed_events (id, kind, room_id, user_id, agent_id, payload, created_at)
  SELECT $8, $9, m.room_id, m.author_user_id, m.author_agent_id,
         jsonb_build_object('message_id', m.id, 'body', m.body, 'snippet', $10::text), m.created_at
  FROM m
)
SELECT ${MSG_COLS}, true AS created FROM m
UNION ALL
SELECT ${MSG_COLS}, false AS created FROM city_room_messages WHERE id = (SELECT id FROM dup)`;

export type InsertResult = { row: MessageRow; created: boolean } | undefined;

export function createRoomsRepo(db: Database) {
  const { pool, prisma } = db;
  return {
    async insertMessage(m: NewMessage): Promise<InsertResult> {
      const { rows } = await pool.query<MessageRow & { created: boolean }>({
        name: "city_insert_message",
        text: INSERT_MESSAGE,
        values: [m.id, m.roomId, m.authorUserId, m.authorAgentId, m.authorName, m.body, m.clientMessageId, m.feedEventId, m.feedKind, m.snippet],
      });
      const r = rows[0];
      if (!r) return undefined;
      const { created, ...row } = r;
      return { row, created };
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

    async addMember(roomId: string, userId: string): Promise<void> {
      await prisma.$executeRaw`INSERT INTO city_room_members (room_id, user_id) VALUES (${roomId}, ${userId}) ON CONFLICT DO NOTHING`;
    },

    async removeMember(roomId: string, userId: string): Promise<void> {
      await prisma.cityRoomMember.deleteMany({ where: { roomId, userId } });
    },
  };
}

export type RoomsRepo = ReturnType<typeof createRoomsRepo>;
