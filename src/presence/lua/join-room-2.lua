--[[
  A user joins a room as an online member: counts as a heartbeat (joining is presence), records
  the membership (so offline can remove it), and adds the user to the room's online set.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8] user id   ARGV[9] room id
  Returns: { 1 when the membership is new, 1 when the user came online }.
]]
--- @include "prelude"
local uid, room = ARGV[8], ARGV[9]
local added = redis.call('SADD', roomsKey(uid), room)
local online = touch(uid)
redis.call('SADD', P_ROOM .. room, uid)
publish()
return { added, online }
