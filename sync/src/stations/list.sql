WHERE ($1::station_level IS NULL OR level = $1) AND ($2::uuid IS NULL OR parent_id = $2)
  AND ($3::bool IS NULL OR active = $3)
  AND ($4::text IS NULL OR name ILIKE '%' || $4 || '%' OR code ILIKE '%' || $4 || '%')
  AND ($5::uuid IS NULL OR id > $5)
ORDER BY id
LIMIT $6
