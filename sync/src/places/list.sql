WHERE ($1::uuid[] IS NULL OR station_id = ANY($1))
  AND ($2::place_kind IS NULL OR kind = $2) AND ($3::uuid IS NULL OR station_id = $3)
  AND ($4::bool IS NULL OR active = $4)
  AND ($5::text IS NULL OR name ILIKE '%' || $5 || '%' OR address ILIKE '%' || $5 || '%')
  AND ($6::text IS NULL OR source = $6) AND ($7::text IS NULL OR external_id = $7)
  AND ($8::float8[] IS NULL OR geom && ST_MakeEnvelope($8[1], $8[2], $8[3], $8[4], 4326))
  AND ($9::uuid IS NULL OR id > $9)
ORDER BY id
LIMIT $10
