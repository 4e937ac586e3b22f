-- Shared by the scripts on a user's hash (KEYS[1], "sg:{<user key>}").
-- Fields: "<session id>" → a live record "created|last-activity|policy groups|sid tag|device|ip"
-- (times in ms, base 36) or a tombstone "!reason|until" (reported) or
-- "?reason|until" (found ended while pruning, not yet reported to its device);
-- "<session id>:i" → the display claims (JSON) when too large for the cookie;
-- "@" → the user's subject.
-- ARGV[2], ARGV[3] default idle / absolute ms (absolute 0 = none), ARGV[4] tombstone ttl ms;
-- group policies are triples (name, idle ms, absolute ms) at the end of ARGV.
local K = KEYS[1]
local defIdle, defAbs, graveMs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
-- limitsFor resolves a session's comma-separated group policy names with the
-- group triples from ARGV[first]: the strictest value of each timer.
local function limitsFor(pol, first)
  local idle, abs = defIdle, defAbs
  if pol == "" or #ARGV < first then return idle, abs end
  local found = false
  for name in string.gmatch(pol, "[^,]+") do
    for i = first, #ARGV, 3 do
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
  return idle, abs
end
-- parse splits a live record: created and last activity (numbers), their
-- base-36 text, the policy groups and the rest.
local function parse(rec)
  local ca36, la36, pol, rest = string.match(rec, "^(%w+)|(%w+)|([^|]*)|(.*)$")
  return tonumber(ca36, 36), tonumber(la36, 36), pol, rest, ca36
end
-- verdict names the deadline a session has passed, or nil.
local function verdict(ca, la, idle, abs)
  if abs > 0 and now >= ca + abs then return "absolute" end
  if now >= la + idle then return "idle" end
  return nil
end
local function isTombstone(rec)
  local m = string.sub(rec, 1, 1)
  return m == "!" or m == "?"
end
-- bury replaces a session by a tombstone (mark "!" reported, "?" not yet).
local function bury(id, mark, reason)
  redis.call("HSET", K, id, mark .. reason .. "|" .. b36(now + graveMs))
  redis.call("HDEL", K, id .. ":i")
  extend(K, graveMs)
end
-- prune drops tombstones past their time, buries sessions past a deadline
-- (unreported) and returns the live ones as {id, record, created}, oldest first.
local function prune(first)
  local all = redis.call("HGETALL", K)
  local live = {}
  for i = 1, #all, 2 do
    local f, rec = all[i], all[i + 1]
    if f ~= "@" and not string.find(f, ":", 1, true) then
      if isTombstone(rec) then
        if untilOf(rec) <= now then redis.call("HDEL", K, f, f .. ":i") end
      else
        local ca, la, pol = parse(rec)
        local why = ca and verdict(ca, la, limitsFor(pol, first))
        if not ca then
          redis.call("HDEL", K, f, f .. ":i")
        elseif why then
          bury(f, "?", why)
        else
          live[#live + 1] = {f, rec, ca}
        end
      end
    end
  end
  table.sort(live, function(a, b) return a[3] < b[3] end)
  return live
end
