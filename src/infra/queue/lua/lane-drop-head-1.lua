--[[
  Removes a head that will never leave by itself (its job is gone or finished without leaving,
  e.g. a process died in between), but only if it is still the head.
    KEYS[1] lane key
    ARGV[1] the stale head's job id
  Returns {1, new head or ""} when removed, else {0, current head or ""}.
]]
local head = redis.call("LINDEX", KEYS[1], 0)
if head ~= ARGV[1] then return {0, head or ""} end
redis.call("LPOP", KEYS[1])
return {1, redis.call("LINDEX", KEYS[1], 0) or ""}
