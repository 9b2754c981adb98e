-- The current state of the records a page of changes names, as the JSON a
-- device stores. Coordinates are WGS84; places are GeoJSON Features.
SELECT 'station' AS entity, s.id, json_build_object(
    'id', s.id, 'parent_id', s.parent_id, 'level', s.level, 'code', s.code, 'name', s.name,
    'location', json_build_object('lon', round(ST_X(s.location)::numeric, 7), 'lat', round(ST_Y(s.location)::numeric, 7)),
    'active', s.active, 'version', s.version) AS data
FROM stations s WHERE s.id = ANY($1)
UNION ALL
SELECT 'place', p.id, json_build_object(
    'type', 'Feature', 'id', p.id, 'geometry', ST_AsGeoJSON(p.geom, 7)::json,
    'properties', json_build_object('kind', p.kind, 'name', p.name, 'address', p.address, 'station_id', p.station_id,
        'attributes', p.attributes, 'active', p.active, 'version', p.version))
FROM places p WHERE p.id = ANY($2)
UNION ALL
SELECT 'assignment', a.id, json_build_object(
    'id', a.id, 'person_id', a.person_id, 'place_id', a.place_id, 'valid_from', a.valid_from, 'valid_to', a.valid_to,
    'source', a.source, 'locked', a.locked, 'version', a.version)
FROM assignments a WHERE a.id = ANY($3)
UNION ALL
SELECT 'check_in', c.id, json_build_object(
    'id', c.id, 'person_id', c.person_id, 'place_id', c.place_id,
    'position', json_build_object('lon', round(ST_X(c.position)::numeric, 7), 'lat', round(ST_Y(c.position)::numeric, 7)),
    'accuracy_m', c.accuracy_m, 'mock_location', c.mock_location, 'device_time', c.device_time,
    'received_at', c.received_at, 'visited_at', c.visited_at,
    'late_by_s', round(EXTRACT(EPOCH FROM c.received_at - c.visited_at))::bigint, 'month', to_char(c.visit_month, 'YYYY-MM'),
    'note', c.note, 'distance_m', c.distance_m, 'geofence_m', c.geofence_m, 'verdict', c.verdict, 'reasons', c.reasons,
    'review', c.review, 'review_note', c.review_note, 'version', c.version)
FROM check_ins c WHERE c.id = ANY($4)
UNION ALL
SELECT 'finding', f.id, json_build_object(
    'id', f.id, 'person_id', f.person_id, 'place_id', f.place_id, 'check_in_id', f.check_in_id,
    'category', f.category, 'description', f.description, 'severity', f.severity,
    'position', CASE WHEN f.position IS NULL THEN NULL ELSE
        json_build_object('lon', round(ST_X(f.position)::numeric, 7), 'lat', round(ST_Y(f.position)::numeric, 7)) END,
    'issue_id', f.issue_id, 'editable', f.issue_id IS NULL, 'created_at', f.created_at, 'version', f.version)
FROM findings f WHERE f.id = ANY($5)
UNION ALL
SELECT 'photo', ph.id, json_build_object(
    'id', ph.id, 'check_in_id', ph.check_in_id, 'finding_id', ph.finding_id, 'sha256', encode(ph.sha256, 'hex'),
    'size', ph.size, 'mime', ph.mime, 'status', ph.status, 'uploaded_at', ph.uploaded_at,
    'thumbnail_ready', ph.thumbnail_key IS NOT NULL, 'exif_flags', ph.exif_flags, 'version', ph.version)
FROM photos ph WHERE ph.id = ANY($6)
UNION ALL
SELECT 'finding_category', c.id, json_build_object(
    'id', c.id, 'code', c.code, 'label_zh', c.label_zh, 'label_en', c.label_en, 'sort', c.sort, 'version', c.version)
FROM finding_categories c WHERE c.id = ANY($7)
UNION ALL
SELECT 'department', d.id, json_build_object(
    'id', d.id, 'name_zh', d.name_zh, 'name_en', d.name_en, 'sort', d.sort, 'version', d.version)
FROM departments d WHERE d.id = ANY($8)
UNION ALL
SELECT 'issue', i.id, json_build_object(
    'id', i.id, 'number', i.number, 'title', i.title, 'description', i.description, 'category', i.category,
    'place_id', i.place_id,
    'position', CASE WHEN i.position IS NULL THEN NULL ELSE
        json_build_object('lon', round(ST_X(i.position)::numeric, 7), 'lat', round(ST_Y(i.position)::numeric, 7)) END,
    'station_id', i.station_id, 'department_id', i.department_id, 'deadline', i.deadline, 'state', i.state,
    'answer', i.answer, 'answered_on', i.answered_on, 'closed_out_at', i.closed_out_at,
    'satisfaction', i.satisfaction, 'reason', i.reason, 'merged_into', i.merged_into, 'raised_at', i.raised_at,
    'raiser_ids', ARRAY(SELECT r.person_id FROM issue_raisers r WHERE r.issue_id = i.id ORDER BY r.person_id),
    'finding_ids', ARRAY(SELECT f.id FROM findings f WHERE f.issue_id = i.id ORDER BY f.id),
    'history', coalesce((SELECT json_agg(json_build_object('id', e.id, 'at', e.at, 'actor_id', e.actor_id,
        'actor_name', p.name, 'action', e.action, 'from_state', e.from_state, 'to_state', e.to_state, 'note', e.note)
        ORDER BY e.n) FROM issue_events e JOIN people p ON p.id = e.actor_id WHERE e.issue_id = i.id), '[]'),
    'version', i.version)
FROM issues i WHERE i.id = ANY($9)
