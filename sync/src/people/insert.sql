INSERT INTO people (id, name, phone, username, password_hash, role, station_id, anchor, visit_capacity)
VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromWKB($8, 4326), $9)
