--[[
  Hands a job's outcome to the API process waiting for it, and tells whether that caller gave up.
  Atomic with claim-reply-2: either the caller's timeout finds the result, or this sees it gone.
    KEYS[1] result key      KEYS[2] abandoned key
    ARGV[1] reply channel   ARGV[2] message (JSON)   ARGV[3] result TTL (ms)
  Returns 1 when the caller already gave up (the reply must reach the user another way), else 0.
]]
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
redis.call("PUBLISH", ARGV[1], ARGV[2])
return redis.call("EXISTS", KEYS[2])
