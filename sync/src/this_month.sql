-- The current month in Asia/Shanghai, by the database's clock.
SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date
