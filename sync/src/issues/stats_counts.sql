-- Follows stats_issues.sql: the counts and the mean rating per grouping, with
-- the names of the station and the category.
, counts AS (
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
)
SELECT c.kind, c.m, c.station_id, st.name AS station_name, c.category, fc.label_zh AS category_zh,
    fc.label_en AS category_en, fc.sort AS category_sort, c.raised, c.accepted, c.closed_out, c.still_open, c.overdue,
    c.mean_satisfaction
FROM counts c
LEFT JOIN stations st ON st.id = c.station_id
LEFT JOIN finding_categories fc ON fc.code = c.category
