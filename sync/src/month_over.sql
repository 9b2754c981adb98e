-- Whether the month of $1 (its first day) is over in Asia/Shanghai.
SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date >= ($1::date + interval '1 month')::date
