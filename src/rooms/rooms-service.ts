// The rooms capability: listing, creation, detail, history, the message write and membership.
// Every transport (REST, Socket.IO, raw ws, the agents.reply subscriber) goes through here, so
// validation, the single-statement write, the feed event and idempotency are the same everywhere.
import { AppError, validation } from "../core/errors.js";
import { newId, roomIdFor } from "../core/ids.js";
import { snippet } from "../core/text.js";
import { actorId, displayName, type Identity } from "../auth/identity.js";
import type { RoomsRepo } from "./rooms-repo.js";
import { MESSAGE_ID_RE, ROOM_ID_RE, toMessage, toRoom, type Message, type Room, type RoomDetail } from "./room-model.js";
import { slugFromName } from "./slug.js";
import { MessageWriter } from "./message-writer.js";
import type { CreateRoomInput, MessageInput } from "./inputs.js";

/** Who is online in which room (the presence capability, on Redis). */
export interface RoomPresence {
  /** Exact online members per room, for a whole list in one round trip. */
  countRooms(roomIds: readonly string[]): Promise<number[]>;
  /** `changed` is false when the user was already a member (another tab). */
  joinRoom(roomId: string, userId: string): Promise<{ changed: boolean }>;
  leaveRoom(roomId: string, userId: string): Promise<{ changed: boolean }>;
}

/** Where committed room events go (the room-event bus of src/realtime/bus/, which reaches every
 *  socket of every worker). Called after commit, never before. */
export interface RoomEventSink {
  message(message: Message): void;
  joined(roomId: string, userId: string): void;
  left(roomId: string, userId: string): void;
}

/**
 * Per-author rules a post must pass before it is written, whatever carried it (REST, Socket.IO,
 * raw ws, an agent's reply): the message rate limit today (src/ratelimit), mutes later. Throws
 * the AppError that refuses the post.
 */
export interface PostAdmission {
  admit(who: Identity, roomId: string): Promise<void>;
}

export interface RoomsServiceDeps {
  readonly repo: RoomsRepo;
  readonly online?: RoomPresence;
  /** Without one, commits reach no socket (a process that only reads or seeds rooms). */
  readonly events?: RoomEventSink;
  /** Without one, every post is admitted. */
  readonly admission?: PostAdmission;
}

export const DETAIL_MESSAGES = 50;

const DEFAULT_DESCRIPTIONS: Record<string, string> = {
  general: "Головна кімната міста",
  welcome: "Ласкаво просимо до міста",
  builders: "Кімната для тих, хто будує місто",
};

const titleCase = (slug: string) => slug.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");

export function createRoomsService(deps: RoomsServiceDeps) {
  const { repo } = deps;
  const writer = new MessageWriter((batch) => repo.insertMessages(batch));
  const zeros = async (ids: readonly string[]) => ids.map(() => 0);
  const counts = (ids: readonly string[]) => (deps.online ? deps.online.countRooms(ids) : zeros(ids));
  const { events, admission } = deps;

  async function requireRoom(roomId: string) {
    const room = ROOM_ID_RE.test(roomId) ? await repo.getRoom(roomId) : undefined;
    if (!room) throw new AppError("room_not_found", `Room ${JSON.stringify(roomId.slice(0, 80))} does not exist`);
    return room;
  }

  async function seqOf(roomId: string, messageId: string, field: string): Promise<number> {
    const seq = MESSAGE_ID_RE.test(messageId) ? await repo.messageSeq(roomId, messageId) : undefined;
    if (seq === undefined) throw validation(field, `${field}: no message ${JSON.stringify(messageId.slice(0, 80))} in this room`);
    return seq;
  }

  return {
    async ensureDefaultRooms(slugs: readonly string[]): Promise<void> {
      await repo.ensureDefaultRooms(
        slugs.map((slug) => ({ id: roomIdFor(slug), slug, name: titleCase(slug), description: DEFAULT_DESCRIPTIONS[slug] ?? `Кімната ${titleCase(slug)}` })),
      );
    },

    async listRooms(limit: number, offset: number): Promise<Room[]> {
      const rows = await repo.listRooms(limit, offset);
      const online = await counts(rows.map((r) => r.id));
      return rows.map((r, i) => toRoom(r, online[i] ?? 0));
    },

    async createRoom(who: Identity, input: CreateRoomInput): Promise<Room> {
      const slug = input.slug ?? slugFromName(input.name);
      const row = await repo.createRoom({
        id: roomIdFor(slug),
        slug,
        name: input.name,
        description: input.description ?? null,
        createdBy: actorId(who),
      });
      if (!row) throw new AppError("slug_taken", `A room with slug "${slug}" already exists`, { field: "slug" });
      return toRoom(row, 0);
    },

    async roomDetail(roomId: string): Promise<RoomDetail> {
      const room = await requireRoom(roomId);
      const [messages, online] = await Promise.all([repo.latestMessages(roomId, DETAIL_MESSAGES), counts([roomId])]);
      const wire = toRoom(room, online[0] ?? 0);
      return { ...wire, room: wire, messages: messages.map(toMessage), members_online: wire.members_online };
    },

    async history(roomId: string, q: { before?: string; after?: string; limit: number }): Promise<Message[]> {
      await requireRoom(roomId);
      const before = q.before ? await seqOf(roomId, q.before, "before") : null;
      const after = q.after ? await seqOf(roomId, q.after, "after") : null;
      const rows = before === null && after === null ? await repo.latestMessages(roomId, q.limit) : await repo.messagesBetween(roomId, after, before, q.limit);
      return rows.map(toMessage);
    },

    /** The seq of one of the room's messages; validation_failed naming `field` when it is not one. */
    seqOfMessage: (roomId: string, messageId: string, field = "last_message_id") => seqOf(roomId, messageId, field),

    /** Throws room_not_found for an unknown room (sockets check this on every join). */
    async assertRoom(roomId: string): Promise<void> {
      await requireRoom(roomId);
    },

    lastSeq: (roomId: string) => repo.roomLastSeq(roomId),

    messagesBetweenSeq: async (roomId: string, afterSeq: number, beforeSeq: number | null, max: number) =>
      (await repo.messagesBetween(roomId, afterSeq, beforeSeq, max)).map(toMessage),

    /** Admits the post by the per-author rules, writes the message and its feed event in one
     *  statement (shared with concurrent posts: group commit), then publishes it to every socket.
     *  A repeated client_message_id from the same author returns the original (created=false). */
    async postMessage(who: Identity, roomId: string, input: MessageInput): Promise<{ message: Message; created: boolean }> {
      if (!ROOM_ID_RE.test(roomId)) throw new AppError("room_not_found", `Room ${JSON.stringify(roomId.slice(0, 80))} does not exist`);
      await admission?.admit(who, roomId);
      const agent = who.kind === "agent";
      let result;
      try {
        result = await writer.write({
          id: newId.message(),
          roomId,
          authorUserId: agent ? null : actorId(who),
          authorAgentId: agent ? actorId(who) : null,
          authorName: displayName(who),
          body: input.body,
          clientMessageId: input.clientMessageId,
          feedEventId: newId.feedEvent(),
          feedKind: agent ? "agent_reply" : "room_message",
          snippet: snippet(input.body),
        });
      } catch (err) {
        // Two requests with one client_message_id raced past the duplicate check; the unique
        // index refused the second whole statement, so nothing of it was written.
        if ((err as { code?: string }).code === "23505" && input.clientMessageId) {
          const row = await repo.findMessageByClientId(roomId, actorId(who), input.clientMessageId);
          if (row) return { message: toMessage(row), created: false };
        }
        throw err;
      }
      if (!result) throw new AppError("room_not_found", `Room ${JSON.stringify(roomId)} does not exist`);
      const message = toMessage(result.row);
      if (result.created) events?.message(message);
      return { message, created: result.created };
    },

    /** Makes the user a member of the room, kept with presence in Redis (CONTRACT §4 allows no
     *  table beyond the seed's): an online member now, and again whenever the user comes back
     *  online. The room hears `room.join` once per user, not once per tab. */
    async join(who: Identity, roomId: string): Promise<{ changed: boolean }> {
      await requireRoom(roomId);
      const id = actorId(who);
      const { changed } = deps.online ? await deps.online.joinRoom(roomId, id) : { changed: true };
      if (changed) events?.joined(roomId, id);
      return { changed };
    },

    async leave(who: Identity, roomId: string): Promise<void> {
      await requireRoom(roomId);
      const id = actorId(who);
      const { changed } = deps.online ? await deps.online.leaveRoom(roomId, id) : { changed: true };
      if (changed) events?.left(roomId, id);
    },
  };
}

export type RoomsService = ReturnType<typeof createRoomsService>;
