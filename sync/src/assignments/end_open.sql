-- Ends the open assignments of a person ($1), a place ($2) or one assignment
-- ($3) today (Asia/Shanghai), keeping the history; one that began today ends
-- tomorrow, since a period must not be empty.
UPDATE assignments SET valid_to = greatest((now() AT TIME ZONE 'Asia/Shanghai')::date, valid_from + 1),
    version = version + 1, updated_at = now()
WHERE ($1::uuid IS NULL OR person_id = $1) AND ($2::uuid IS NULL OR place_id = $2) AND ($3::uuid IS NULL OR id = $3)
  AND ($1::uuid IS NOT NULL OR $2::uuid IS NOT NULL OR $3::uuid IS NOT NULL)
  AND (valid_to IS NULL OR valid_to > (now() AT TIME ZONE 'Asia/Shanghai')::date)
