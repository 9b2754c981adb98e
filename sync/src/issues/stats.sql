-- The issue figures of a period, in total and per month raised, station and
-- category. $1, $2: the period as instants (the first midnight of `from` and
-- of the month after `to`, Asia/Shanghai); $3 the stations of the scope (NULL:
-- all), $4 the raiser of the scope; $5, $6 the station and category filters;
-- $7 the instant each month of the period starts, in order: `width_bucket`
-- finds an issue's month (1, 2, …) by binary search, cheaper than converting
-- every `raised_at` to Asia/Shanghai time.
--
-- Two passes over the scoped issues: the counts hash into all four groupings
-- at once; the median (an ordered-set aggregate, which cannot be hashed)
-- sorts only the closed-out ones.
--
-- Every figure counts the issues RAISED in the period (a cohort), as they
-- stand now: of the issues raised in March, how many were accepted, are
-- closed out, are still open. A merged issue is left out everywhere: it is
-- the same matter as the issue it was merged into, which is counted.
--
-- accepted: reached `accepted` at some point. Every state after it (forwarded,
-- in_progress, answered, closed_out) is reachable only through it; an issue
-- now new, returned or rejected was accepted when its history says so (it may
-- have been accepted, then returned or rejected).
-- overdue: as in select.sql, past the deadline (Asia/Shanghai) and neither
-- answered nor closed out.
-- still open: the workflow's OPEN states (workflow.rs).
WITH i AS NOT MATERIALIZED (
    SELECT width_bucket(i.raised_at, $7::timestamptz[]) AS m, i.station_id, i.category, i.state, i.satisfaction,
        (i.state IN ('accepted', 'forwarded', 'in_progress', 'answered', 'closed_out') OR h.accepted IS NOT NULL)
            AS accepted,
        (i.deadline IS NOT NULL AND i.deadline < (now() AT TIME ZONE 'Asia/Shanghai')::date
            AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'returned')) AS overdue,
        i.closed_out_at, i.raised_at
    FROM issues i
    -- The history is read only for the few issues whose state does not tell
    -- (a one-time filter per row, then one probe of a partial index): hashing
    -- every acceptance ever recorded cost more than the rest of the query.
    LEFT JOIN LATERAL (
        SELECT true AS accepted FROM issue_events e
        WHERE e.issue_id = i.id AND e.to_state = 'accepted' AND i.state IN ('new', 'returned', 'rejected')
        LIMIT 1
    ) h ON true
    WHERE i.raised_at >= $1 AND i.raised_at < $2 AND i.state <> 'merged'
      AND ($3::uuid[] IS NULL OR i.station_id = ANY($3))
      AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $4))
      AND ($5::uuid IS NULL OR i.station_id = $5)
      AND ($6::text IS NULL OR i.category = $6)
), counts AS (
    SELECT CASE WHEN GROUPING(m) = 0 THEN 'month' WHEN GROUPING(station_id) = 0 THEN 'station'
                WHEN GROUPING(category) = 0 THEN 'category' ELSE 'total' END AS kind,
        m, station_id, category,
        count(*) AS raised,
        count(*) FILTER (WHERE accepted) AS accepted,
        count(*) FILTER (WHERE state = 'closed_out') AS closed_out,
        count(*) FILTER (WHERE state IN ('new', 'accepted', 'forwarded', 'in_progress', 'answered', 'returned')) AS still_open,
        count(*) FILTER (WHERE overdue) AS overdue,
        round(avg(satisfaction) FILTER (WHERE state = 'closed_out'), 2)::float8 AS mean_satisfaction
    FROM i
    GROUP BY GROUPING SETS ((), (m), (station_id), (category))
), medians AS (
    SELECT CASE WHEN GROUPING(m) = 0 THEN 'month' WHEN GROUPING(station_id) = 0 THEN 'station'
                WHEN GROUPING(category) = 0 THEN 'category' ELSE 'total' END AS kind,
        m, station_id, category,
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', closed_out_at - raised_at) / 86400)::numeric,
            2)::float8 AS median_days_to_close_out
    FROM i
    WHERE state = 'closed_out'
    GROUP BY GROUPING SETS ((), (m), (station_id), (category))
)
SELECT c.kind, c.m, c.station_id, st.name AS station_name, c.category, fc.label_zh AS category_zh,
    fc.label_en AS category_en, fc.sort AS category_sort, c.raised, c.accepted, c.closed_out, c.still_open, c.overdue,
    md.median_days_to_close_out, c.mean_satisfaction
FROM counts c
LEFT JOIN medians md ON md.kind = c.kind AND md.m IS NOT DISTINCT FROM c.m
    AND md.station_id IS NOT DISTINCT FROM c.station_id AND md.category IS NOT DISTINCT FROM c.category
LEFT JOIN stations st ON st.id = c.station_id
LEFT JOIN finding_categories fc ON fc.code = c.category
