UPDATE stations SET
    parent_id = CASE WHEN $2 THEN $3 ELSE parent_id END,
    level = coalesce($4, level), code = coalesce($5, code), name = coalesce($6, name),
    location = coalesce(ST_GeomFromWKB($7, 4326), location),
    service_area = CASE WHEN $8 THEN ST_GeomFromWKB($9, 4326) ELSE service_area END,
    active = coalesce($10, active),
    version = version + 1, updated_at = now()
WHERE id = $1
