--[[
  Hands a job's outcome to the API process waiting for it, and decides who tells the user when the
  caller is no longer waiting. Atomic with claim-reply-2: either the caller's claim finds the
  result, or this sees the abandoned mark.
    KEYS[1] result key      KEYS[2] abandoned key      KEYS[3] the job's BullMQ lock key
    ARGV[1] reply channel   ARGV[2] envelope (JSON)    ARGV[3] result TTL (ms)
    ARGV[4] the delivering run's lock token ("" when it has none: no check)
  The user hears once: a run that lost the job's lock (Redis was away longer than the lock, and
  BullMQ handed the job to another run) stays silent, and so does a re-run of a job whose outcome
  was already handed over (the run failed after delivering, e.g. its lane leave could not be made).
  A lock that is gone altogether (Redis came back empty) stops no one.
  The message is the decision ("1": the worker delivers to the user itself, "0": the caller's
  process does) followed by the envelope; the stored result carries the final decision.
  Returns 1 when the worker must deliver: the caller gave up, or no process listens on its channel
  any more (it died, or its subscriber is reconnecting and will find the stored result); 0 when the
  caller's process takes it; 2 when another run owns the job now or the outcome was handed over.
]]
if redis.call("EXISTS", KEYS[1]) == 1 then return 2 end
local owner = redis.call("GET", KEYS[3])
if owner and ARGV[4] ~= "" and owner ~= ARGV[4] then return 2 end
local abandoned = redis.call("EXISTS", KEYS[2])
local listeners = redis.call("PUBLISH", ARGV[1], abandoned .. ARGV[2])
local worker = 0
if abandoned == 1 or listeners == 0 then worker = 1 end
redis.call("SET", KEYS[1], worker .. ARGV[2], "PX", ARGV[3])
return worker
