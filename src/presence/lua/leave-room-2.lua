--[[
  A user leaves a room: membership and the room's online set.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen (unused; common shape)
    ARGV[1..7] common   ARGV[8] user id   ARGV[9] room id
  Returns: 1 when the user was a member.
]]
--- @include "prelude"
local uid, room = ARGV[8], ARGV[9]
local removed = redis.call('SREM', roomsKey(uid), room)
redis.call('SREM', P_ROOM .. room, uid)
return removed
