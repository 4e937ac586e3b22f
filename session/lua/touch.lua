-- Record activity a node saw on a session it judged from its local copy.
-- ARGV[5] session id, ARGV[6] its sign-in time (ms), ARGV[7] when the
-- activity was (ms); group triples from ARGV[8].
-- Moves the last activity of that same live session forward, and only when
-- the session was within both deadlines at that time: a touch never revives
-- an ended session and never buries one (the next check does that).
-- Returns {1, the activity time written (ms)} when written, {0} when not:
-- never later than Redis's own time, whatever the node's clock estimate.
local id = ARGV[5]
local rec = redis.call("HGET", K, id)
if not rec or isTombstone(rec) then return {0} end
local ca, la, pol, rest, ca36 = parse(rec)
if not ca or ca ~= tonumber(ARGV[6]) then return {0} end
local at = math.min(tonumber(ARGV[7]), now)
local idle, abs = limitsFor(pol, 8)
if at <= la or at >= la + idle or (abs > 0 and at >= ca + abs) then return {0} end
redis.call("HSET", K, id, ca36 .. "|" .. b36(at) .. "|" .. pol .. "|" .. rest)
local exp = at + idle
if abs > 0 and ca + abs < exp then exp = ca + abs end
extend(K, exp - now)
return {1, at}
