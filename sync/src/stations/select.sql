SELECT id, parent_id, level, code, name, ST_AsBinary(location) AS location,
    ST_AsBinary(service_area) AS service_area, active, version, created_at, updated_at
FROM stations
