-- Check one session and apply the timer rules atomically.
-- KEYS[1] session hash, KEYS[2] the user's index (sorted set)
-- ARGV[1] now in ms, or "" to use the server's TIME
-- ARGV[2] "1" when the request is user activity
-- ARGV[3] session id (index member)
-- ARGV[4], ARGV[5] default idle / absolute ms (absolute 0 = none)
-- ARGV[6] tombstone ttl ms, ARGV[7] sign-in time carried by the cookie (ms)
-- ARGV[8], ARGV[9] idle / absolute ms of the cookie's own policy (for a missing session)
-- ARGV[10] the subject carried by the cookie (for a missing session)
-- ARGV[11...] triples: group policy name, idle ms, absolute ms
-- Returns {now, "V", la, idleAt, absAt, sub, name, email, groups, sid, pol, ca, xc}
--      or {now, "X", reason, sub}  (this check found the end: tombstone written)
--      or {now, "E", reason}  (ended earlier: tombstone)
-- A session found expired, or already forgotten by its TTL, is replaced by a
-- tombstone with the reason, so that exactly one check reports its end.
local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local function bury(reason, sub)
  redis.call("DEL", KEYS[1])
  redis.call("HSET", KEYS[1], "end", reason)
  redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[6]))
  redis.call("ZREM", KEYS[2], ARGV[3])
  return {now, "X", reason, sub or ""}
end
local v = redis.call("HMGET", KEYS[1], "ca", "la", "pol", "end", "sub", "name", "email", "groups", "sid", "xc")
if v[4] then
  return {now, "E", v[4]}
end
local idle, abs = tonumber(ARGV[4]), tonumber(ARGV[5])
if not v[1] then
  -- forgotten at its nearest deadline: which one, from the cookie's sign-in time
  local signedIn, ownIdle, ownAbs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
  if ownAbs > 0 and now >= signedIn + ownAbs then return bury("absolute", ARGV[10]) end
  if now >= signedIn + ownIdle then return bury("idle", ARGV[10]) end
  return bury("ended", ARGV[10])
end
local ca, la = tonumber(v[1]), tonumber(v[2])
local pol = v[3] or ""
if pol ~= "" and #ARGV > 10 then
  local found = false
  for name in string.gmatch(pol, "[^,]+") do
    for i = 11, #ARGV, 3 do
      if ARGV[i] == name then
        local gi, ga = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
        if not found then
          idle, abs, found = gi, ga, true
        else
          if gi < idle then idle = gi end
          if abs == 0 or (ga ~= 0 and ga < abs) then abs = ga end
        end
      end
    end
  end
end
local absAt = 0
if abs > 0 then absAt = ca + abs end
if absAt > 0 and now >= absAt then
  return bury("absolute", v[5])
end
if now >= la + idle then
  return bury("idle", v[5])
end
if ARGV[2] == "1" then
  la = now
  redis.call("HSET", KEYS[1], "la", la)
end
local idleAt = la + idle
local exp = idleAt
if absAt > 0 and absAt < exp then exp = absAt end
redis.call("PEXPIRE", KEYS[1], exp - now)
-- absent fields are "" (a nil would cut the reply short)
return {now, "V", la, idleAt, absAt, v[5] or "", v[6] or "", v[7] or "", v[8] or "", v[9] or "", pol, ca, v[10] or ""}
