-- The issue figures of a period, in total and per month raised, station and
-- category (one GROUPING SETS pass). $1, $2: the period as instants (the first
-- midnight of `from` and of the month after `to`, Asia/Shanghai); $3 the
-- stations of the scope (NULL: all), $4 the raiser of the scope; $5, $6 the
-- station and category filters.
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
WITH i AS (
    SELECT date_trunc('month', i.raised_at AT TIME ZONE 'Asia/Shanghai')::date AS month, i.station_id, i.category,
        i.state, i.satisfaction,
        (i.state IN ('accepted', 'forwarded', 'in_progress', 'answered', 'closed_out')
            OR EXISTS (SELECT 1 FROM issue_events e WHERE e.issue_id = i.id AND e.to_state = 'accepted')) AS accepted,
        (i.deadline IS NOT NULL AND i.deadline < (now() AT TIME ZONE 'Asia/Shanghai')::date
            AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'returned')) AS overdue,
        extract(epoch FROM i.closed_out_at - i.raised_at) / 86400.0 AS days_to_close_out
    FROM issues i
    WHERE i.raised_at >= $1 AND i.raised_at < $2 AND i.state <> 'merged'
      AND ($3::uuid[] IS NULL OR i.station_id = ANY($3))
      AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $4))
      AND ($5::uuid IS NULL OR i.station_id = $5)
      AND ($6::text IS NULL OR i.category = $6)
), g AS (
    SELECT CASE WHEN GROUPING(month) = 0 THEN 'month' WHEN GROUPING(station_id) = 0 THEN 'station'
                WHEN GROUPING(category) = 0 THEN 'category' ELSE 'total' END AS kind,
        month, station_id, category,
        count(*) AS raised,
        count(*) FILTER (WHERE accepted) AS accepted,
        count(*) FILTER (WHERE state = 'closed_out') AS closed_out,
        count(*) FILTER (WHERE state IN ('new', 'accepted', 'forwarded', 'in_progress', 'answered', 'returned')) AS still_open,
        count(*) FILTER (WHERE overdue) AS overdue,
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close_out)
            FILTER (WHERE state = 'closed_out'))::numeric, 2)::float8 AS median_days_to_close_out,
        round(avg(satisfaction) FILTER (WHERE state = 'closed_out'), 2)::float8 AS mean_satisfaction
    FROM i
    GROUP BY GROUPING SETS ((), (month), (station_id), (category))
)
SELECT g.kind, g.month, g.station_id, st.name AS station_name, g.category, c.label_zh AS category_zh,
    c.label_en AS category_en, c.sort AS category_sort, g.raised, g.accepted, g.closed_out, g.still_open, g.overdue,
    g.median_days_to_close_out, g.mean_satisfaction
FROM g
LEFT JOIN stations st ON st.id = g.station_id
LEFT JOIN finding_categories c ON c.code = g.category
