--[[
  A prompt joins the back of its user's lane, unless the lane already holds the most prompts a
  user may have waiting or running (CONTRACT §13): then nothing is added.
    KEYS[1] lane key
    ARGV[1] job id   ARGV[2] most entries   ARGV[3] lane TTL (ms)
  Returns {1} when entered, or {0, entries...} (oldest first) when the lane is full.
]]
local entries = redis.call("LRANGE", KEYS[1], 0, -1)
if #entries >= tonumber(ARGV[2]) then
  table.insert(entries, 1, 0)
  return entries
end
redis.call("RPUSH", KEYS[1], ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return {1}
