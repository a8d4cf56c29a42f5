--[[
  Takes `cost` from every bucket named in KEYS, or from none: a request is refused as a whole when
  any of its buckets (per IP, per user, per action) is empty, and then nothing is consumed.
  Each bucket is a GCRA token bucket kept as one number, its "theoretical arrival time" in ms; the
  clock is Redis's own (TIME), so every worker on every machine shares one clock per bucket.

  KEYS[i]        city:rl:{scope}:{id}
  ARGV[1]        cost (tokens taken from each bucket)
  ARGV[2]        now in ms, or "" for Redis's clock (a caller's clock serves tests only)
  ARGV[2i + 1]   emission interval of bucket i in ms (1000 / rate per second)
  ARGV[2i + 2]   burst of bucket i (tokens it holds when full)

  Returns { allowed (1 | 0), retry_after_ms, refusing bucket index (1-based; 0 when allowed),
            tokens left in the emptiest bucket after this take }
]]
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local newTats = {}
local left = -1
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i + 1])
  local burst = tonumber(ARGV[2 * i + 2])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '') or now
  if tat < now then tat = now end
  local newTat = tat + interval * cost
  local allowAt = newTat - interval * burst
  if allowAt > now then
    return { 0, math.ceil(allowAt - now), i, 0 }
  end
  newTats[i] = newTat
  local l = math.floor((now - allowAt) / interval)
  if left < 0 or l < left then left = l end
end

for i = 1, #KEYS do
  -- The key lives exactly as long as the bucket is not full again: an idle user costs nothing.
  redis.call('SET', KEYS[i], newTats[i], 'PX', math.ceil(newTats[i] - now) + 1)
end
return { 1, 0, 0, left }
