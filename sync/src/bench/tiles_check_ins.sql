-- The measured month's check-ins ($1, its first day) for the tile benchmark:
-- of the benchmark's assignments, 55% get one to three verified visits by the
-- assigned representative (the place is `visited`), 7% one outside the fence
-- (it does not count), the rest none (`overdue`, the month being over).
WITH a AS (
    SELECT a.person_id, a.place_id, ST_PointOnSurface(pl.geom) AS at_place, random() AS r
    FROM assignments a JOIN places pl ON pl.id = a.place_id
    WHERE pl.source = 'bench'
), visits AS (
    SELECT a.person_id, a.place_id, a.at_place, a.r,
        ($1::date::timestamp + random() * interval '27 days') AT TIME ZONE 'Asia/Shanghai' AS at
    FROM a, generate_series(1, CASE WHEN a.r < 0.55 THEN 1 + (a.r * 100)::int % 3 WHEN a.r < 0.62 THEN 1 ELSE 0 END)
)
INSERT INTO check_ins (id, person_id, place_id, position, reported, accuracy_m, mock_location, device_time,
    device_utc_offset_s, received_at, visited_at, visit_month, distance_m, geofence_m, verdict, reasons, payload_hash)
SELECT gen_random_uuid(), v.person_id, v.place_id, v.at_place, '{}', 10, false, v.at, 28800, v.at + interval '1 minute',
    v.at, $1::date, CASE WHEN v.r < 0.55 THEN 5 ELSE 400 END, 50,
    (CASE WHEN v.r < 0.55 THEN 'verified' ELSE 'outside_geofence' END)::check_in_verdict,
    CASE WHEN v.r < 0.55 THEN '{}'::text[] ELSE '{outside_geofence}'::text[] END, '\x00'
FROM visits v
