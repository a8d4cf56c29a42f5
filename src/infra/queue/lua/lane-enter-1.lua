--[[
  Queues a job at the back of its user's lane (the lane orders one user's jobs).
    KEYS[1] lane key
    ARGV[1] job id          ARGV[2] lane TTL (ms), refreshed by every entry
  Returns the lane's length.
]]
local n = redis.call("RPUSH", KEYS[1], ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return n
