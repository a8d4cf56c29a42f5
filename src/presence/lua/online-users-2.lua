--[[
  The most recently active online users, for presence.bulk_update on connect.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8] limit
  Returns: flat { user id, last_seen ms, ... } of users whose expiry is ahead and whose key exists.
]]
--- @include "prelude"
local ids = redis.call('ZRANGE', INDEX, '+inf', '(' .. NOW, 'BYSCORE', 'REV', 'LIMIT', 0, tonumber(ARGV[8]))
local out = {}
for _, uid in ipairs(ids) do
  if redis.call('EXISTS', P_USER .. uid) == 1 then
    out[#out + 1] = uid
    out[#out + 1] = redis.call('HGET', LAST_SEEN, uid) or tostring(NOW)
  end
end
return out
