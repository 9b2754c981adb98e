  AND ($3::person_role IS NULL OR role = $3) AND ($4::uuid IS NULL OR station_id = $4)
  AND ($5::bool IS NULL OR active = $5)
  AND ($6::text IS NULL OR name ILIKE '%' || $6 || '%' OR username ILIKE '%' || $6 || '%' OR phone LIKE '%' || $6 || '%')
  AND ($7::uuid IS NULL OR id > $7)
ORDER BY id
LIMIT $8
