-- List a user's sessions, forgetting index members whose session is gone.
-- KEYS[1] the user's index, KEYS[2] key prefix of the user's sessions
-- ARGV[1] now in ms, or "" to use the server's TIME
-- Returns {now, id, {fields...}, id, {fields...}, ...}
local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local out = {now}
for _, id in ipairs(redis.call("ZRANGE", KEYS[1], 0, -1)) do
  local v = redis.call("HMGET", KEYS[2] .. id, "ca", "la", "pol", "sub", "name", "email", "groups", "sid", "dev", "ip")
  if v[1] then
    -- absent fields are "" (a nil would cut the reply short)
    for i = 1, 10 do if not v[i] then v[i] = "" end end
    out[#out + 1] = id
    out[#out + 1] = v
  else
    redis.call("ZREM", KEYS[1], id)
  end
end
return out
