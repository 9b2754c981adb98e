-- One row per assignment in force during the month ($1, its first day), with
-- the first visit that counts, if any: `month_assignment_visits` (migration
-- 0013), the one definition of coverage the map and its tiles share.
SELECT mav.assignment_id, pl.id AS place_id, pl.name AS place_name, pl.kind::text AS kind,
       pl.station_id, st.name AS station_name, pe.id AS person_id, pe.name AS person_name,
       month_is_over($1::date) AS closed,
       v.id AS check_in_id, v.visited_at, v.verdict::text AS verdict, v.review::text AS review
FROM month_assignment_visits($1::date) mav
JOIN places pl ON pl.id = mav.place_id
JOIN stations st ON st.id = pl.station_id
JOIN people pe ON pe.id = mav.person_id
LEFT JOIN check_ins v ON v.id = mav.first_check_in
WHERE ($2::uuid[] IS NULL OR pl.station_id = ANY($2))
  AND ($3::uuid IS NULL OR mav.person_id = $3)
ORDER BY st.name, pe.name, pl.name
