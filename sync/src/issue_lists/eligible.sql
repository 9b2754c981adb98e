-- The issues a list for month `$1` (first day) of stations `$2` (NULL: all)
-- may hold: accepted ones raised by the end of that month and not yet
-- forwarded, and the still-open ones forwarded by a list of an earlier month
-- (carried over). New ones first, then carried over, each by number.
SELECT i.id, (i.state <> 'accepted') AS carried_over
FROM issues i LEFT JOIN issue_lists f ON f.id = i.forwarded_in
WHERE i.township_id = $3 AND ($2::uuid[] IS NULL OR i.station_id = ANY($2))
  AND ((i.state = 'accepted' AND i.raised_at < ($1::date + interval '1 month') AT TIME ZONE 'Asia/Shanghai')
    OR (i.state IN ('forwarded', 'in_progress', 'answered') AND f.month < $1))
ORDER BY (i.state <> 'accepted'), i.year, i.seq
