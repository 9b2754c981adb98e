-- The assignments in force today (Asia/Shanghai).
SELECT id, person_id, place_id, locked
FROM assignments
WHERE valid_from <= (now() AT TIME ZONE 'Asia/Shanghai')::date
  AND (valid_to IS NULL OR valid_to > (now() AT TIME ZONE 'Asia/Shanghai')::date)
ORDER BY id
