-- Takes a turn at signing in as $1, or returns no row while the name is
-- blocked. Every attempt counts as a failure until it succeeds (the caller
-- then deletes the row). Within a window of $2 minutes, $3 attempts are free;
-- each one after that blocks the name for 30 s, doubling up to 15 minutes.
INSERT INTO login_throttle AS t (username, failures, last_failure_at) VALUES ($1, 1, now())
ON CONFLICT (username) DO UPDATE SET
    failures = CASE WHEN t.last_failure_at < now() - make_interval(mins => $2) THEN 1 ELSE t.failures + 1 END,
    last_failure_at = now(),
    blocked_until = CASE
        WHEN t.last_failure_at >= now() - make_interval(mins => $2) AND t.failures + 1 > $3
        THEN now() + least(interval '15 minutes', interval '30 seconds' * power(2, least(t.failures - $3, 10)))
        ELSE NULL END
WHERE t.blocked_until IS NULL OR t.blocked_until <= now()
RETURNING failures
