--[[
  The caller's wait ran out: take the result if it arrived after all (a lost pub/sub message),
  otherwise mark the request abandoned so the worker delivers the reply to the user's sockets.
  Safe to run again (a claim whose answer was lost in a reconnect is retried): once marked, it
  stays marked and the result, should it come, is the worker's to deliver.
    KEYS[1] result key      KEYS[2] abandoned key
    ARGV[1] abandoned TTL (ms)
  Returns the stored result message (see publish-reply-2), or nil when the request is abandoned.
]]
if redis.call("EXISTS", KEYS[2]) == 1 then return false end
local result = redis.call("GET", KEYS[1])
if result then return result end
redis.call("SET", KEYS[2], "1", "PX", ARGV[1])
return false
