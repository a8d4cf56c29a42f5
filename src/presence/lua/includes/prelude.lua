-- Shared by every presence script. Keys of one user are built here from prefixes in ARGV
-- (the per-user and per-room keys are only known inside the script, e.g. a user's rooms), so
-- these scripts assume one Redis, not Redis Cluster, as the contract does.
--
-- Common ARGV (every script): [1] now (ms), [2] ttl (s), [3] user key prefix "presence:user:",
-- [4] room key prefix "presence:room:", [5] city prefix "city:presence:", [6] transitions channel,
-- [7] retention (ms) of a swept user's memberships.
-- Common KEYS: [1] city:presence:expiry (zset user -> expiry ms; membership means "announced
-- online"), [2] city:presence:last_seen (hash user -> ms).
local NOW = tonumber(ARGV[1])
local TTL = tonumber(ARGV[2])
local P_USER = ARGV[3]
local P_ROOM = ARGV[4]
local P_CITY = ARGV[5]
local CHANNEL = ARGV[6]
local RETENTION = tonumber(ARGV[7])
local INDEX = KEYS[1]
local LAST_SEEN = KEYS[2]

local function connsKey(uid) return P_CITY .. 'conns:' .. uid end
local function roomsKey(uid) return P_CITY .. 'rooms:' .. uid end

local transitions = {}

-- Back online (the user was not in the index): show the user again in the rooms kept while
-- swept (a background tab whose timers the browser throttled still has its sockets there).
local function cameOnline(uid)
  local rk = roomsKey(uid)
  local rooms = redis.call('SMEMBERS', rk)
  for _, r in ipairs(rooms) do redis.call('SADD', P_ROOM .. r, uid) end
  redis.call('PERSIST', rk)
  redis.call('PERSIST', connsKey(uid))
  transitions[#transitions + 1] = { userId = uid, status = 'online', lastSeen = NOW, rooms = rooms }
end

-- A heartbeat's effect: the contract key, the expiry index, last_seen. Returns 1 when the user
-- was not announced online (not in the index), i.e. this is the online transition. Membership of
-- the index, not the key, decides: a key that expired but was not swept yet was never announced
-- offline, so its return is no transition (no offline/online pair that nobody saw the first half of).
local function touch(uid)
  redis.call('SETEX', P_USER .. uid, TTL, 'online')
  redis.call('HSET', LAST_SEEN, uid, NOW)
  if redis.call('ZADD', INDEX, NOW + TTL * 1000, uid) == 0 then return 0 end
  cameOnline(uid)
  return 1
end

-- The one place a user goes offline: only when announced online and the contract key is gone
-- (expired by TTL, or by the shortened TTL of the grace). ZREM inside the same script makes each
-- offline transition happen, and be published, exactly once even when sweeps overlap.
local function tryOffline(uid)
  local uk = P_USER .. uid
  if redis.call('EXISTS', uk) == 1 then
    -- Still fresh (a heartbeat came, or clocks of two hosts differ): move it to its real expiry.
    local pttl = redis.call('PTTL', uk)
    if pttl < 0 then pttl = TTL * 1000 end
    redis.call('ZADD', INDEX, NOW + pttl, uid)
    return 0
  end
  if redis.call('ZREM', INDEX, uid) == 0 then return 0 end
  local rk, ck = roomsKey(uid), connsKey(uid)
  local rooms = redis.call('SMEMBERS', rk)
  for _, r in ipairs(rooms) do redis.call('SREM', P_ROOM .. r, uid) end
  if redis.call('SCARD', ck) > 0 then
    -- Expired with connections still registered: silent sockets (throttled tab) or a crashed
    -- worker's. Keep memberships for a while so a returning heartbeat restores them; forget them
    -- afterwards so a dead worker's leftovers do not live forever.
    redis.call('PEXPIRE', rk, RETENTION)
    redis.call('PEXPIRE', ck, RETENTION)
  else
    -- Every connection closed (the grace ran out): the user left their rooms too.
    redis.call('DEL', rk)
  end
  local ls = tonumber(redis.call('HGET', LAST_SEEN, uid)) or NOW
  transitions[#transitions + 1] = { userId = uid, status = 'offline', lastSeen = ls, rooms = rooms }
  return 1
end

-- One message per script call, in the same atomic step as the state change: a transition is
-- published if and only if it happened.
local function publish()
  if #transitions > 0 then redis.call('PUBLISH', CHANNEL, cjson.encode(transitions)) end
end
