-- Findings with their author's, place's and category's names. `$1` the
-- stations (of the place) of the scope, `$2` the person of the scope; `$6`
-- the first day of the month (Asia/Shanghai) of creation.
SELECT f.id, f.person_id, pe.name AS person_name, f.place_id, pl.name AS place_name, pl.station_id, f.check_in_id,
    f.category, c.label_zh AS category_zh, c.label_en AS category_en, f.description, f.severity::text AS severity,
    ST_X(f.position) AS lon, ST_Y(f.position) AS lat, f.issue_id,
    (SELECT count(*) FROM photos ph WHERE ph.finding_id = f.id) AS photos,
    ARRAY(SELECT ph.id FROM photos ph WHERE ph.finding_id = f.id AND ph.status = 'uploaded' ORDER BY ph.id) AS photo_ids,
    f.created_at, f.updated_at, f.version
FROM findings f JOIN people pe ON pe.id = f.person_id JOIN places pl ON pl.id = f.place_id
JOIN finding_categories c ON c.code = f.category
WHERE ($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR f.person_id = $2)
  AND ($3::uuid IS NULL OR f.place_id = $3) AND ($4::uuid IS NULL OR pl.station_id = $4)
  AND ($5::text IS NULL OR f.category = $5)
  AND ($6::date IS NULL OR date_trunc('month', f.created_at AT TIME ZONE 'Asia/Shanghai')::date = $6)
  AND ($7::uuid IS NULL OR f.person_id = $7) AND ($8::uuid IS NULL OR f.id > $8)
  AND ($10::boolean IS NULL OR (f.issue_id IS NOT NULL) = $10)
ORDER BY f.id LIMIT $9
