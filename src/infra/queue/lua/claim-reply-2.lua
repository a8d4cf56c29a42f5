--[[
  The caller's wait ran out: take the result if it arrived after all (a lost pub/sub message),
  otherwise mark the request abandoned so the worker delivers the reply to the user's sockets.
    KEYS[1] result key      KEYS[2] abandoned key
    ARGV[1] abandoned TTL (ms)
  Returns the result message, or nil.
]]
local result = redis.call("GET", KEYS[1])
if result then return result end
redis.call("SET", KEYS[2], "1", "PX", ARGV[1])
return false
