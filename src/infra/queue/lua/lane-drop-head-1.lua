--[[
  Removes a head that will never leave by itself (its job is gone or finished without leaving,
  e.g. a process died in between), but only if it is still the head.
    KEYS[1] lane key
    ARGV[1] the stale head's job id
  Returns 1 when removed, else 0.
]]
if redis.call("LINDEX", KEYS[1], 0) == ARGV[1] then
  redis.call("LPOP", KEYS[1])
  return 1
end
return 0
