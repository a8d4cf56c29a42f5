--[[
  Where a job stands in its user's lane. Only the head may run.
    KEYS[1] lane key
    ARGV[1] job id
  Returns {"head"|"behind"|"absent", head job id or ""}. "absent" (the lane lost, e.g. expired)
  lets the job run rather than wait forever.
]]
local head = redis.call("LINDEX", KEYS[1], 0)
if not head then return {"absent", ""} end
if head == ARGV[1] then return {"head", head} end
if redis.call("LPOS", KEYS[1], ARGV[1]) then return {"behind", head} end
return {"absent", head}
