--[[
  Hands a job's outcome to the API process waiting for it, and tells whether anyone still waits.
  Atomic with claim-reply-2: either the caller's timeout finds the result, or this sees it gone.
    KEYS[1] result key      KEYS[2] abandoned key
    ARGV[1] reply channel   ARGV[2] message (JSON)   ARGV[3] result TTL (ms)
  Returns 1 when the caller gave up, or when no process listens on its channel any more (it
  died, or its subscriber is reconnecting): the reply must then reach the user another way.
]]
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
if redis.call("PUBLISH", ARGV[1], ARGV[2]) == 0 then return 1 end
return redis.call("EXISTS", KEYS[2])
