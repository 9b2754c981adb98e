-- Visits of a period per month and station of the place, by the one rule
-- (`counts_as_visit`, migration 0011) and by visit month (Asia/Shanghai, as
-- computed when the check-in arrived). $1, $2: the first day of `from` and of
-- the month after `to`; $3 the stations of the scope (NULL: all), $4 the
-- person of the scope; $5 the station filter. Counted per place first, then
-- summed per station: the places are few, the check-ins many.
WITH per_place AS (
    SELECT c.visit_month, c.place_id, count(*) AS visits
    FROM check_ins c
    WHERE c.visit_month >= $1 AND c.visit_month < $2 AND counts_as_visit(c.verdict, c.review)
      AND ($4::uuid IS NULL OR c.person_id = $4)
    GROUP BY c.visit_month, c.place_id
)
SELECT v.visit_month AS month, pl.station_id, st.name AS station_name, sum(v.visits)::bigint AS visits
FROM per_place v
JOIN places pl ON pl.id = v.place_id
JOIN stations st ON st.id = pl.station_id
WHERE ($3::uuid[] IS NULL OR pl.station_id = ANY($3)) AND ($5::uuid IS NULL OR pl.station_id = $5)
GROUP BY v.visit_month, pl.station_id, st.name
