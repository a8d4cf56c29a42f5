--[[
  Offline check of named users whose expiry is due (the grace timer of the worker that saw the
  last connection close). Same rule as the sweep, so the two can never disagree.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8..] user ids
  Returns: JSON of the offline transitions (also published).
]]
--- @include "prelude"
for i = 8, #ARGV do
  local score = redis.call('ZSCORE', INDEX, ARGV[i])
  if score and tonumber(score) <= NOW then tryOffline(ARGV[i]) end
end
publish()
if #transitions == 0 then return '[]' end
return cjson.encode(transitions)
