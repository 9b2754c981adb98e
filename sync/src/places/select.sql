SELECT id, kind, name, address, ST_AsBinary(geom) AS geom, station_id, source, external_id,
    attributes, active, version, created_at, updated_at
FROM places
