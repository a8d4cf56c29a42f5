--[[
  A user's connection closed. When it was the last one, start the grace: shorten the contract key
  to at most the grace and move the user's expiry to the same instant. The key then expires by
  itself unless a connection or heartbeat returns (on any worker), and whoever checks after the
  deadline (this worker's timer or the sweep) sees the same truth: the key.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common   ARGV[8] user id   ARGV[9] connection id   ARGV[10] grace (ms)
  Returns: the grace deadline (ms), or -1 when no grace started (other connections remain, or
  the user is not online).
]]
--- @include "prelude"
local uid, grace = ARGV[8], tonumber(ARGV[10])
local ck = connsKey(uid)
redis.call('SREM', ck, ARGV[9])
if redis.call('SCARD', ck) > 0 then return -1 end
if not redis.call('ZSCORE', INDEX, uid) then return -1 end
-- Seen until the moment the last tab closed.
redis.call('HSET', LAST_SEEN, uid, NOW)
local uk = P_USER .. uid
local pttl = redis.call('PTTL', uk)
local left = grace
if pttl == -2 then left = 0 elseif pttl >= 0 and pttl < grace then left = pttl end
if pttl ~= -2 and left == grace then
  if grace > 0 then redis.call('PEXPIRE', uk, grace) else redis.call('DEL', uk) end
end
redis.call('ZADD', INDEX, NOW + left, uid)
return NOW + left
