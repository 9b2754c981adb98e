-- One row per assignment in force during the month ($1, its first day), with
-- the first visit that counts, if any. Months are Asia/Shanghai calendar
-- months: `visit_month` was computed in that zone when the check-in arrived.
WITH m AS (
    SELECT $1::date AS start, ($1::date + interval '1 month')::date AS stop,
           (now() AT TIME ZONE 'Asia/Shanghai')::date >= ($1::date + interval '1 month')::date AS closed
)
SELECT a.id AS assignment_id, pl.id AS place_id, pl.name AS place_name, pl.kind::text AS kind,
       pl.station_id, st.name AS station_name, pe.id AS person_id, pe.name AS person_name, m.closed,
       v.id AS check_in_id, v.visited_at, v.verdict::text AS verdict, v.review::text AS review
FROM m
JOIN assignments a ON a.valid_from < m.stop AND (a.valid_to IS NULL OR a.valid_to > m.start)
JOIN places pl ON pl.id = a.place_id
JOIN stations st ON st.id = pl.station_id
JOIN people pe ON pe.id = a.person_id
LEFT JOIN LATERAL (
    SELECT c.id, c.visited_at, c.verdict, c.review
    FROM check_ins c
    WHERE c.person_id = a.person_id AND c.place_id = a.place_id AND c.visit_month = m.start
      AND counts_as_visit(c.verdict, c.review)
    ORDER BY c.visited_at
    LIMIT 1
) v ON true
WHERE ($2::uuid[] IS NULL OR pl.station_id = ANY($2))
  AND ($3::uuid IS NULL OR a.person_id = $3)
ORDER BY st.name, pe.name, pl.name
