-- The report's month (default: the current one, Asia/Shanghai, by the database's
-- clock, as place_coverage decides due against overdue) and whether it is over.
SELECT m AS month, month_is_over(m) AS closed
FROM (SELECT coalesce($1::date, date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date) AS m) t
