-- KeepRescue on a user's rescue hash KEYS[1] ("sg:rescue:{<user key>}"):
-- fields are slots, values "<until ms>|<data>". ARGV[2] slot, ARGV[3] data,
-- ARGV[4] ttl ms, ARGV[5] max slots, ARGV[6] max bytes (with the data).
-- Expired slots are dropped; returns 1 when kept, 0 when the user's other
-- live rescues leave no room.
local slot, data = ARGV[2], ARGV[3]
local ttl, maxSlots, maxBytes = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local all = redis.call("HGETALL", KEYS[1])
local count, bytes = 1, #data
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  local till = tonumber(string.match(v, "^(%d+)|") or "0")
  if till <= now then
    redis.call("HDEL", KEYS[1], f)
  elseif f ~= slot then
    count = count + 1
    bytes = bytes + #v
  end
end
if count > maxSlots or bytes > maxBytes then
  return 0
end
redis.call("HSET", KEYS[1], slot, (now + ttl) .. "|" .. data)
extend(KEYS[1], ttl)
return 1
