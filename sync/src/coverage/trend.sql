-- Per station and month, the month's places by status (`place_coverage`), for
-- the $1 months up to and including $2 (first days), stations $3 (null: all).
-- Place counts are of the places active now: a place retired since is left out
-- of the months before too.
SELECT st.id AS station_id, st.name AS station_name, to_char(m.month, 'YYYY-MM') AS month,
       count(pc.place_id) FILTER (WHERE pc.status <> 'unassigned') AS assigned,
       count(pc.place_id) FILTER (WHERE pc.status = 'visited') AS visited,
       count(pc.place_id) FILTER (WHERE pc.status = 'unassigned') AS unassigned
FROM generate_series($2::date - make_interval(months => $1::int - 1), $2::date, interval '1 month') AS m(month)
CROSS JOIN LATERAL place_coverage(m.month::date, ST_MakeEnvelope(-180, -90, 180, 90, 4326), $3::uuid[]) pc
JOIN places pl ON pl.id = pc.place_id
JOIN stations st ON st.id = pl.station_id
GROUP BY st.id, st.name, m.month
ORDER BY st.name, st.id, m.month
