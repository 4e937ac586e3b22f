-- TakeRescue: the slot ARGV[2] of the user's rescue hash KEYS[1] is read and
-- forgotten; nil when empty or its time is up.
local v = redis.call("HGET", KEYS[1], ARGV[2])
if not v then
  return false
end
redis.call("HDEL", KEYS[1], ARGV[2])
local till, data = string.match(v, "^(%d+)|(.*)$")
if not till or tonumber(till) <= now then
  return false
end
return data
