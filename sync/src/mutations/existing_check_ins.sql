-- The stored check-ins among ids $1: their payload hash and, as JSON, the
-- outcome a repeated create answers.
SELECT id, payload_hash,
    json_build_object('id', id, 'verdict', verdict, 'reasons', reasons,
        'distance_m', round(distance_m::numeric, 2), 'geofence_m', round(geofence_m::numeric, 2),
        'visited_at', visited_at, 'month', to_char(visit_month, 'YYYY-MM'),
        'late_by_s', round(EXTRACT(EPOCH FROM received_at - visited_at))::bigint)
FROM check_ins WHERE id = ANY($1)
