-- TakeRescue (ARGV[3] = "take") and PeekRescue (ARGV[3] = "peek"): the slot
-- ARGV[2] of the user's rescue hash KEYS[1] is read, and forgotten when
-- taken; nil when empty or its time is up.
local v = redis.call("HGET", KEYS[1], ARGV[2])
if not v then
  return false
end
local till, data = string.match(v, "^(%d+)|(.*)$")
if ARGV[3] == "take" or not till or tonumber(till) <= now then
  redis.call("HDEL", KEYS[1], ARGV[2])
end
if not till or tonumber(till) <= now then
  return false
end
return data
