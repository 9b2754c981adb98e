-- Only the fields sent change: a NULL keeps the value, except for the
-- clearable ones ($3 phone, $8 station, $10 anchor), which say whether they were sent.
UPDATE people SET
    name = coalesce($2, name),
    phone = CASE WHEN $3 THEN $4 ELSE phone END,
    username = coalesce($5, username),
    password_hash = coalesce($6, password_hash),
    role = coalesce($7, role),
    station_id = CASE WHEN $8 THEN $9 ELSE station_id END,
    anchor = CASE WHEN $10 THEN ST_GeomFromWKB($11, 4326) ELSE anchor END,
    visit_capacity = coalesce($12, visit_capacity),
    active = coalesce($13, active),
    version = version + 1, updated_at = now()
WHERE id = $1
