--[[
  A job is done with its lane (completed, or failed for good).
    KEYS[1] lane key
    ARGV[1] job id
  Returns the next job's id (the new head, to wake it up), or nil.
]]
redis.call("LREM", KEYS[1], 1, ARGV[1])
return redis.call("LINDEX", KEYS[1], 0)
