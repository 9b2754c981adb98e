-- How long the pair $1 (username), $2 (address) is still blocked, in seconds; no row when it is not.
SELECT EXTRACT(EPOCH FROM blocked_until - now())::float8 FROM login_throttle
WHERE username = $1 AND address = $2 AND blocked_until > now()
