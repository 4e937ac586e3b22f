-- Create a session and index it under its user.
-- KEYS[1] session hash, KEYS[2] the user's index, KEYS[3] key prefix of the user's sessions
-- ARGV[1] now in ms, or "" to use the server's TIME
-- ARGV[2] session id, ARGV[3] idle ms, ARGV[4] absolute ms (0 = none)
-- ARGV[5] max sessions (0 = unlimited), ARGV[6] tombstone ttl ms
-- ARGV[7...] field/value pairs
-- Returns {now, endedId...}
local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local idle, abs = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call("DEL", KEYS[1])
local fields = {"ca", now, "la", now}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call("HSET", KEYS[1], unpack(fields))
local ttl = idle
if abs > 0 and abs < ttl then ttl = abs end
redis.call("PEXPIRE", KEYS[1], ttl)
redis.call("ZADD", KEYS[2], now, ARGV[2])
-- forget index members whose session is gone
local members = redis.call("ZRANGE", KEYS[2], 0, -1)
local live = {}
for _, id in ipairs(members) do
  local k = KEYS[3] .. id
  if redis.call("HEXISTS", k, "ca") == 1 then
    live[#live + 1] = id
  else
    redis.call("ZREM", KEYS[2], id)
  end
end
local out = {now}
local max = tonumber(ARGV[5])
if max > 0 then
  local i = 1
  while #live - (i - 1) > max do
    local id = live[i]
    if id ~= ARGV[2] then
      local k = KEYS[3] .. id
      redis.call("DEL", k)
      redis.call("HSET", k, "end", "elsewhere")
      redis.call("PEXPIRE", k, tonumber(ARGV[6]))
      redis.call("ZREM", KEYS[2], id)
      out[#out + 1] = id
    end
    i = i + 1
  end
end
-- the index lives as long as the longest-lived session could
local idxTTL = abs
if abs == 0 then idxTTL = tonumber(ARGV[6]) end
if redis.call("PTTL", KEYS[2]) < idxTTL then
  redis.call("PEXPIRE", KEYS[2], idxTTL)
end
return out
