  AND ($3::text IS NULL OR c.verdict::text = $3)
  AND ($4::text IS NULL OR coalesce(c.review::text, 'pending') = $4)
  AND ($5::uuid IS NULL OR pl.station_id = $5) AND ($6::uuid IS NULL OR c.person_id = $6)
  AND ($7::uuid IS NULL OR c.place_id = $7) AND ($8::date IS NULL OR c.visit_month = $8)
  AND ($9::uuid IS NULL OR c.id > $9)
ORDER BY c.id LIMIT $10
