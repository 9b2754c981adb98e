
  AND ($3::uuid IS NULL OR a.person_id = $3) AND ($4::uuid IS NULL OR a.place_id = $4)
  AND ($5::uuid IS NULL OR pl.station_id = $5) AND ($6::assignment_source IS NULL OR a.source = $6)
  -- In force today (Asia/Shanghai), or not.
  AND ($7::bool IS NULL OR $7 = (a.valid_from <= (now() AT TIME ZONE 'Asia/Shanghai')::date
       AND (a.valid_to IS NULL OR a.valid_to > (now() AT TIME ZONE 'Asia/Shanghai')::date)))
  AND ($8::uuid IS NULL OR a.id > $8)
ORDER BY a.id LIMIT $9
