--[[
  A user's connection opened: register it (multi-tab) and count it as a heartbeat, which also
  cancels a running grace (the shortened key gets its full TTL back).
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8] user id   ARGV[9] connection id
  Returns: 1 when the user came online.
]]
--- @include "prelude"
local uid = ARGV[8]
redis.call('SADD', connsKey(uid), ARGV[9])
local changed = touch(uid)
publish()
return changed
