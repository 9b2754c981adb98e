-- Inserts a run of judged check-ins of one person from one client in one
-- statement; the statement-level trigger logs them for pull. Reasons come
-- comma-joined, since arrays of arrays cannot be unnested row by row.
INSERT INTO check_ins (id, person_id, place_id, client_id, position, reported, accuracy_m, mock_location,
    device_time, device_utc_offset_s, received_at, skew_s, visited_at, visit_month, note,
    distance_m, geofence_m, speed_kmh, verdict, reasons, payload_hash)
SELECT r.id, $2, r.place, $4, ST_GeomFromWKB(r.position, 4326), r.reported, r.accuracy, r.mock,
    r.device_time, r.utc_offset, $11, $12, r.visited_at, date_trunc('month', r.visited_at AT TIME ZONE 'Asia/Shanghai')::date,
    r.note, r.distance, r.geofence, r.speed, r.verdict::check_in_verdict,
    CASE WHEN r.reasons = '' THEN '{}'::text[] ELSE string_to_array(r.reasons, ',') END, r.hash
FROM unnest($1::uuid[], $3::uuid[], $5::bytea[], $6::jsonb[], $7::float8[], $8::bool[], $9::timestamptz[], $10::int[],
            $13::timestamptz[], $14::text[], $15::float8[], $16::float8[], $17::float8[], $18::text[], $19::text[], $20::bytea[])
    AS r(id, place, position, reported, accuracy, mock, device_time, utc_offset, visited_at, note, distance, geofence, speed,
         verdict, reasons, hash)
RETURNING id, to_char(visit_month, 'YYYY-MM')
