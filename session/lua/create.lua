-- Create a session in its user's hash, pruning the hash first.
-- ARGV[5] session id, ARGV[6] policy groups, ARGV[7] "sid tag|device|ip",
-- ARGV[8] max sessions (0 = unlimited), ARGV[9] subject,
-- ARGV[10] display claims to keep (JSON) or ""; group triples from ARGV[11].
-- Returns {now, endedId...}
local id = ARGV[5]
-- the new session itself does not count: a try run again (its replicas did
-- not confirm the first) must not end more sessions than the first did
local live = {}
for _, s in ipairs(prune(11)) do
  if s[1] ~= id then live[#live + 1] = s end
end
local out = {now}
local max = tonumber(ARGV[8])
if max > 0 then
  local i = 1
  while #live - (i - 1) >= max and i <= #live do
    bury(live[i][1], "!", "elsewhere")
    out[#out + 1] = live[i][1]
    i = i + 1
  end
end
local t = b36(now)
redis.call("HSET", K, id, t .. "|" .. t .. "|" .. ARGV[6] .. "|" .. ARGV[7], "@", ARGV[9])
if ARGV[10] ~= "" then
  redis.call("HSET", K, id .. ":i", ARGV[10])
else
  redis.call("HDEL", K, id .. ":i")
end
local idle, abs = limitsFor(ARGV[6], 11)
local ttl = idle
if abs > 0 and abs < ttl then ttl = abs end
extend(K, ttl)
return out
