// Presence's Redis names. The two `presence:` keys are the contract's (§5) and must not change;
// everything else is ours and lives under `city:`.

/** `presence:user:{user_id}` = "online" with the TTL (SETEX). */
export const USER_KEY_PREFIX = "presence:user:";
/** `presence:room:{room_id}` = set of the room's online members. */
export const ROOM_KEY_PREFIX = "presence:room:";
/** Prefix of our own per-user keys: `city:presence:conns:{id}`, `city:presence:rooms:{id}`. */
export const CITY_PREFIX = "city:presence:";
/** Sorted set user -> expiry (ms). Membership = "announced online"; the sweep's index. */
export const EXPIRY_KEY = "city:presence:expiry";
/** Hash user -> last seen (ms). In Redis, so it survives a restart of the API. */
export const LAST_SEEN_KEY = "city:presence:last_seen";
/** Pub/sub channel carrying every transition, published by the scripts themselves. */
export const TRANSITIONS_CHANNEL = "city:presence:transitions";

export const presenceKeys = {
  user: (userId: string) => USER_KEY_PREFIX + userId,
  room: (roomId: string) => ROOM_KEY_PREFIX + roomId,
  /** Set of the user's open connection ids (several tabs or devices are one presence). */
  conns: (userId: string) => `${CITY_PREFIX}conns:${userId}`,
  /** Set of the rooms the user joined, so going offline can leave their online sets. */
  rooms: (userId: string) => `${CITY_PREFIX}rooms:${userId}`,
};
