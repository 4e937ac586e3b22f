-- List a user's live sessions, pruning the hash.
-- Group triples from ARGV[5].
-- Returns {now, subject, id, record, id, record, ...}, oldest first.
local live = prune(5)
local out = {now, redis.call("HGET", K, "@") or ""}
for _, s in ipairs(live) do
  out[#out + 1] = s[1]
  out[#out + 1] = s[2]
end
return out
