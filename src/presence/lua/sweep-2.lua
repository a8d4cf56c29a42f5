--[[
  One page of the expiry sweep: users whose expiry passed, found through the index (never a SCAN).
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8] page size
  Returns: { number of due users looked at, JSON of the offline transitions }.
  Users still fresh are moved to their real expiry, so paging always makes progress.
]]
--- @include "prelude"
local due = redis.call('ZRANGE', INDEX, '-inf', NOW, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[8]))
for _, uid in ipairs(due) do tryOffline(uid) end
publish()
if #transitions == 0 then return { #due, '[]' } end
return { #due, cjson.encode(transitions) }
