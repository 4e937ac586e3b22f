-- Check one session and apply the timer rules atomically.
-- ARGV[5] "1" when the request is user activity, ARGV[6] session id,
-- ARGV[7] sign-in time carried by the cookie (ms), ARGV[8], ARGV[9] idle /
-- absolute ms of the cookie's own group policies (for a forgotten session),
-- ARGV[10] the subject carried by the cookie; group triples from ARGV[11].
-- Returns {now, "V", la, idleAt, absAt, pol, ca, stored claims or ""}
--      or {now, "X", reason}  (this check found the end: tombstone written)
--      or {now, "E", reason}  (ended earlier: tombstone)
-- A session found past a deadline, or forgotten with its user's hash, is
-- replaced by a tombstone with the reason, so that exactly one check
-- reports its end.
local id = ARGV[6]
local v = redis.call("HMGET", K, id, id .. ":i")
local rec = v[1]
if not rec then
  -- forgotten: which deadline, from the cookie's sign-in time
  local signedIn, ownIdle, ownAbs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
  local why = "ended"
  if ownAbs > 0 and now >= signedIn + ownAbs then
    why = "absolute"
  elseif now >= signedIn + ownIdle then
    why = "idle"
  end
  bury(id, "!", why)
  return {now, "X", why}
end
if isTombstone(rec) then
  local reason = string.match(rec, "^.([^|]*)")
  if string.sub(rec, 1, 1) == "?" then
    redis.call("HSET", K, id, "!" .. string.sub(rec, 2))
    return {now, "X", reason}
  end
  return {now, "E", reason}
end
local ca, la, pol, rest, ca36 = parse(rec)
local idle, abs = limitsFor(pol, 11)
local why = verdict(ca, la, idle, abs)
if why then
  bury(id, "!", why)
  return {now, "X", why}
end
if ARGV[5] == "1" and la ~= now then
  la = now
  redis.call("HSET", K, id, ca36 .. "|" .. b36(la) .. "|" .. pol .. "|" .. rest)
end
local absAt = 0
if abs > 0 then absAt = ca + abs end
local idleAt = la + idle
local exp = idleAt
if absAt > 0 and absAt < exp then exp = absAt end
extend(K, exp - now)
return {now, "V", la, idleAt, absAt, pol, ca, v[2] or ""}
