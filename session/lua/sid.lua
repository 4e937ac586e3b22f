-- Record a provider session (sid) in its bucket of the provider-session
-- index: field = a digest of the sid, value = "user key[ user key...]|until"
-- (a provider session is one user's, but the index does not rely on it:
-- it keeps the last 4 users).
-- KEYS[1] the bucket, ARGV[2] field, ARGV[3] user key, ARGV[4] ttl ms.
local ttl = tonumber(ARGV[4])
local users = {ARGV[3]}
local old = redis.call("HGET", KEYS[1], ARGV[2])
if old and untilOf(old) > now then
  for u in string.gmatch(string.match(old, "^[^|]*"), "%S+") do
    if u ~= ARGV[3] and #users < 4 then users[#users + 1] = u end
  end
end
redis.call("HSET", KEYS[1], ARGV[2], table.concat(users, " ") .. "|" .. b36(now + ttl))
-- forget a few entries past their time (a bucket holds few)
local some = redis.call("HRANDFIELD", KEYS[1], 8, "WITHVALUES")
for i = 1, #some, 2 do
  if untilOf(some[i + 1]) <= now then redis.call("HDEL", KEYS[1], some[i]) end
end
extend(KEYS[1], ttl)
return 1
