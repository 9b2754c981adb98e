-- For each time in $2 (numbered from 1), person $1's stored check-ins just
-- before and just after it: the speed check compares a visit with its
-- neighbours in time, whatever order the devices synced them in.
SELECT t.i, n.x, n.y, n.visited_at
FROM unnest($2::timestamptz[]) WITH ORDINALITY AS t(at, i)
CROSS JOIN LATERAL (
    (SELECT ST_X(position) AS x, ST_Y(position) AS y, visited_at FROM check_ins
     WHERE person_id = $1 AND visited_at <= t.at ORDER BY visited_at DESC LIMIT 1)
    UNION ALL
    (SELECT ST_X(position), ST_Y(position), visited_at FROM check_ins
     WHERE person_id = $1 AND visited_at > t.at ORDER BY visited_at LIMIT 1)
) n
