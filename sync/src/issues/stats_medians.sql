-- Follows stats_issues.sql: the median days from raising to close-out of the
-- closed-out issues, per grouping.
SELECT CASE WHEN GROUPING(m) = 0 THEN 'month' WHEN GROUPING(station_id) = 0 THEN 'station'
        WHEN GROUPING(category) = 0 THEN 'category' ELSE 'total' END AS kind,
    m, station_id, category,
    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', closed_out_at - raised_at) / 86400)::numeric,
        2)::float8 AS median_days_to_close_out
FROM i
WHERE state = 'closed_out'
GROUP BY GROUPING SETS ((), (m), (station_id), (category))
