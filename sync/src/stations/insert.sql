INSERT INTO stations (id, parent_id, level, code, name, location, service_area)
VALUES ($1, $2, $3, $4, $5, ST_GeomFromWKB($6, 4326), ST_GeomFromWKB($7, 4326))
