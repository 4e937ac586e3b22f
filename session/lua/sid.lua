-- Record a session under its provider session ID (a plain string: cheaper
-- than a set for the usual one or two sessions per provider session).
-- KEYS[1] the provider session's key
-- ARGV[1] "userKey/id/signedInMs", ARGV[2] ttl ms, ARGV[3] most refs kept
local refs = {}
local old = redis.call("GET", KEYS[1])
if old then
  for ref in string.gmatch(old, "[^ ]+") do refs[#refs + 1] = ref end
end
refs[#refs + 1] = ARGV[1]
local keep = tonumber(ARGV[3])
while #refs > keep do table.remove(refs, 1) end
local ttl = tonumber(ARGV[2])
local cur = redis.call("PTTL", KEYS[1])
if cur > ttl then ttl = cur end
redis.call("SET", KEYS[1], table.concat(refs, " "), "PX", ttl)
return #refs
