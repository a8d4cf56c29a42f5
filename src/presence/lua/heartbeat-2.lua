--[[
  Heartbeats of a batch of users in one step (the micro-batcher's flush).
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common (see includes/prelude.lua)
    ARGV[8..] user ids (repeats allowed: only the first can be a transition)
  Returns: one 0/1 per user id, 1 = came online with this heartbeat.
]]
--- @include "prelude"
local out = {}
for i = 8, #ARGV do out[#out + 1] = touch(ARGV[i]) end
publish()
return out
