-- End a session, leaving a tombstone with the reason.
-- ARGV[5] session id, ARGV[6] reason.
bury(ARGV[5], "!", ARGV[6])
return 1
