-- A check-in with its evidence, as staff review it. `late_by_s` is the
-- evidence of the reason `late`: seconds from the visit to its receipt.
SELECT c.id, c.person_id, pe.name AS person_name, c.place_id, pl.name AS place_name, pl.station_id,
    ST_X(c.position) AS lon, ST_Y(c.position) AS lat, c.reported, c.accuracy_m, c.mock_location, c.device_time,
    c.received_at, c.skew_s, c.visited_at,
    round(EXTRACT(EPOCH FROM c.received_at - c.visited_at))::bigint AS late_by_s, to_char(c.visit_month, 'YYYY-MM') AS month,
    c.note, c.distance_m, c.geofence_m, c.speed_kmh, c.verdict::text AS verdict, c.reasons, c.review::text AS review, c.review_note,
    c.reviewed_by, c.reviewed_at, c.version
FROM check_ins c JOIN people pe ON pe.id = c.person_id JOIN places pl ON pl.id = c.place_id
-- $1 stations of the place (the scope), $2 the person (the scope).
WHERE ($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR c.person_id = $2)
