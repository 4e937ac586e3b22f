-- Shared head of every script: the clock, base-36 numbers, key expiry.
-- ARGV[1] is now in ms, or "" to use the server's TIME.
local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
-- b36 writes a non-negative integer in base 36 (records keep times that way:
-- 8 characters instead of 13).
local function b36(n)
  local s = ""
  repeat
    local d = n % 36
    s = string.sub(DIGITS, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return s
end
-- extend makes key live at least ms more; a key's TTL never shrinks, so it
-- covers the latest deadline of everything in it.
local function extend(key, ms)
  if redis.call("PTTL", key) < ms then
    redis.call("PEXPIRE", key, ms)
  end
end
-- untilOf reads the time at the end of a "...|<base 36>" value.
local function untilOf(v)
  return tonumber(string.match(v, "|(%w+)$") or "0", 36) or 0
end
