// The wire shapes of rooms and messages (CONTRACT §6, §10), as zod schemas with their types
// inferred: REST, both socket transports and the API documents use these very objects. Every
// message carries `body` and its alias `text`, and `username` (the author's display name at write
// time).
import { z } from "zod";

const iso = z.string().describe("ISO 8601 UTC timestamp");

export interface MessageRow {
  id: string;
  room_id: string;
  seq: number;
  author_user_id: string | null;
  author_agent_id: string | null;
  author_name: string | null;
  body: string;
  client_message_id: string | null;
  created_at: Date;
}

export const messageSchema = z.object({
  id: z.string().describe("m_city_<ULID>"),
  room_id: z.string(),
  seq: z.number().int().describe("Per-room sequence number: 1, 2, 3, … in commit order"),
  author_user_id: z.string().nullable(),
  author_agent_id: z.string().nullable(),
  username: z.string().describe("The author's display name at write time (JWT `name` claim), else the author id"),
  body: z.string(),
  text: z.string().describe("The same as `body` (the existing front end reads `text`)"),
  client_message_id: z.string().nullable(),
  created_at: iso,
});

export type Message = z.output<typeof messageSchema>;

export function toMessage(r: MessageRow): Message {
  return {
    id: r.id,
    room_id: r.room_id,
    seq: Number(r.seq),
    author_user_id: r.author_user_id,
    author_agent_id: r.author_agent_id,
    username: r.author_name ?? r.author_user_id ?? r.author_agent_id ?? "",
    body: r.body,
    text: r.body,
    client_message_id: r.client_message_id,
    created_at: r.created_at.toISOString(),
  };
}

export interface RoomRow {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  is_default: boolean;
  created_at: Date;
  created_by: string | null;
  last_message_at: Date | null;
}

export const roomSchema = z.object({
  id: z.string().describe("room_city_<slug>"),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  is_default: z.boolean(),
  created_at: iso,
  created_by: z.string().nullable(),
  members_online: z.number().int(),
  last_event: iso.nullable().describe("Time of the room's last message, or null"),
});

export type Room = z.output<typeof roomSchema>;

/** The room detail: the room's fields at the top level (existing front end) and under `room`. */
export const roomDetailSchema = roomSchema.extend({
  room: roomSchema,
  messages: z.array(messageSchema).describe("The last 50 messages, oldest first"),
});

export type RoomDetail = z.output<typeof roomDetailSchema>;

export function toRoom(r: RoomRow, membersOnline: number): Room {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    description: r.description,
    is_default: r.is_default,
    created_at: r.created_at.toISOString(),
    created_by: r.created_by,
    members_online: membersOnline,
    last_event: r.last_message_at ? r.last_message_at.toISOString() : null,
  };
}

export const ROOM_ID_RE = /^room_city_[a-z0-9][a-z0-9-]{1,62}$/;
export const MESSAGE_ID_RE = /^m_city_[0-9A-HJKMNP-TV-Z]{26}$/;
