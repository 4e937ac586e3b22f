-- End a session, leaving a tombstone with the reason.
-- KEYS[1] session hash, KEYS[2] the user's index
-- ARGV[1] session id, ARGV[2] reason, ARGV[3] tombstone ttl ms
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "end", ARGV[2])
redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[3]))
redis.call("ZREM", KEYS[2], ARGV[1])
return 1
