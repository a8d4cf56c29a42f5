// The city feed (CONTRACT §6): newest first, paged by `before` (an event id, or an ISO time).
// Events are written by the rooms capability in the same statement as their message.
import { validation } from "../core/errors.js";
import type { Database } from "../infra/db/database.js";

export interface FeedEvent {
  id: string;
  kind: string;
  room_id: string | null;
  user_id: string | null;
  agent_id: string | null;
  payload: unknown;
  created_at: string;
}

interface FeedRow extends Omit<FeedEvent, "created_at"> {
  created_at: Date;
}

const EVENT_ID_RE = /^evt_city_[0-9A-HJKMNP-TV-Z]{26}$/;
const COLS = `id, kind, room_id, user_id, agent_id, payload, created_at`;

export function createFeedService(db: Database) {
  const { pool } = db;
  return {
    async latest(limit: number, before?: string): Promise<FeedEvent[]> {
      let rows: FeedRow[];
      if (!before) {
        ({ rows } = await pool.query<FeedRow>({
          name: "city_feed_latest",
          text: `SELECT ${COLS} FROM city_feed_events ORDER BY created_at DESC, id DESC LIMIT $1`,
          values: [limit],
        }));
      } else if (EVENT_ID_RE.test(before)) {
        // The cursor's time stays in SQL: timestamptz keeps microseconds, a JS Date only
        // milliseconds, and a rounded cursor would skip older events inside that millisecond.
        ({ rows } = await pool.query<FeedRow>({
          name: "city_feed_before_event",
          text: `SELECT ${COLS} FROM city_feed_events
                 WHERE (created_at, id) < (SELECT created_at, id FROM city_feed_events WHERE id = $1)
                 ORDER BY created_at DESC, id DESC LIMIT $2`,
          values: [before, limit],
        }));
        if (rows.length === 0) {
          const known = await pool.query(`SELECT 1 FROM city_feed_events WHERE id = $1`, [before]);
          if (known.rowCount === 0) throw validation("before", `before: no feed event ${before}`);
        }
      } else {
        const at = new Date(before);
        if (!/^\d{4}-\d\d-\d\dT/.test(before) || Number.isNaN(at.getTime())) {
          throw validation("before", "before: must be a feed event id or an ISO 8601 time");
        }
        ({ rows } = await pool.query<FeedRow>({
          name: "city_feed_before_time",
          text: `SELECT ${COLS} FROM city_feed_events WHERE created_at < $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
          values: [at, limit],
        }));
      }
      return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
    },
  };
}

export type FeedService = ReturnType<typeof createFeedService>;
