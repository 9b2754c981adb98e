-- The kind and the shape are checked together by `places_geom_shape`,
-- whichever of them changes.
UPDATE places SET
    kind = coalesce($2, kind), name = coalesce($3, name),
    address = CASE WHEN $4 THEN $5 ELSE address END,
    geom = coalesce(ST_GeomFromWKB($6, 4326), geom),
    station_id = coalesce($7, station_id), source = coalesce($8, source),
    external_id = CASE WHEN $9 THEN $10 ELSE external_id END,
    attributes = coalesce($11, attributes), active = coalesce($12, active),
    version = version + 1, updated_at = now()
WHERE id = $1
