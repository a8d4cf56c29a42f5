// The wire shapes of rooms and messages (CONTRACT §6, §10). Every message carries `body` and its
// alias `text`, and `username` (the author's display name at write time).

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

export interface Message {
  id: string;
  room_id: string;
  seq: number;
  author_user_id: string | null;
  author_agent_id: string | null;
  username: string;
  body: string;
  text: string;
  client_message_id: string | null;
  created_at: string;
}

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

export interface Room {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  is_default: boolean;
  created_at: string;
  created_by: string | null;
  members_online: number;
  /** Time of the room's last message, or null. */
  last_event: string | null;
}

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
