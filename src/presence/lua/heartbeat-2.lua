--[[
  Heartbeats of a batch of users in one step (the micro-batcher's flush). Same effect as touch()
  per user, with the index and last_seen written by one command each: a call from Lua costs about
  as much as the work, so N + 3 calls instead of 3N roughly halves Redis's time per heartbeat.
    KEYS[1] city:presence:expiry   KEYS[2] city:presence:last_seen
    ARGV[1..7] common (see includes/prelude.lua)
    ARGV[8..] user ids (at most a few thousand: they are unpacked as command arguments;
              repeats allowed, only the first can be a transition)
  Returns: one 0/1 per user id, 1 = came online with this heartbeat.
]]
--- @include "prelude"
local ids = {}
for i = 8, #ARGV do ids[#ids + 1] = ARGV[i] end
local before = redis.call('ZMSCORE', INDEX, unpack(ids))
local expiry = NOW + TTL * 1000
local zargs, hargs = {}, {}
for _, uid in ipairs(ids) do
  redis.call('SETEX', P_USER .. uid, TTL, 'online')
  zargs[#zargs + 1] = expiry
  zargs[#zargs + 1] = uid
  hargs[#hargs + 1] = uid
  hargs[#hargs + 1] = NOW
end
redis.call('ZADD', INDEX, unpack(zargs))
redis.call('HSET', LAST_SEEN, unpack(hargs))
local out, seen = {}, {}
for i, uid in ipairs(ids) do
  out[i] = 0
  -- ZMSCORE answers nil (false in Lua) for a user not in the index: not announced online.
  if not before[i] and not seen[uid] then
    cameOnline(uid)
    out[i] = 1
  end
  seen[uid] = true
end
publish()
return out
