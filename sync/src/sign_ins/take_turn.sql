-- Takes a turn at signing in as $1 from address $2, or returns no row while
-- that pair is blocked or the username has used up its ceiling. Every attempt
-- counts as a failure until it succeeds (the caller then deletes the pair's
-- row), so parallel guesses each take a turn. Within a window of $3 minutes
-- an address has $4 attempts; the one that uses the last of them blocks the
-- pair for 30 s, each further failure doubles the block up to 15 minutes. All
-- addresses together may fail $5 times per username in the window.
WITH recent AS (
    SELECT coalesce(sum(failures), 0) AS failures FROM login_throttle
    WHERE username = $1 AND last_failure_at >= now() - make_interval(mins => $3)
)
INSERT INTO login_throttle AS t (username, address, failures, last_failure_at, blocked_until)
SELECT $1, $2, 1, now(), CASE WHEN $4 <= 1 THEN now() + interval '30 seconds' END
FROM recent WHERE recent.failures < $5
ON CONFLICT (username, address) DO UPDATE SET
    failures = CASE WHEN t.last_failure_at < now() - make_interval(mins => $3) THEN 1 ELSE t.failures + 1 END,
    last_failure_at = now(),
    blocked_until = CASE
        WHEN t.last_failure_at >= now() - make_interval(mins => $3) AND t.failures + 1 >= $4
        THEN now() + least(interval '15 minutes', interval '30 seconds' * power(2, least(t.failures + 1 - $4, 10)))
        ELSE NULL END
WHERE t.blocked_until IS NULL OR t.blocked_until <= now()
RETURNING failures
