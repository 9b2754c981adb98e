INSERT INTO places (id, kind, name, address, geom, station_id, source, external_id, attributes)
VALUES ($1, $2, $3, $4, ST_GeomFromWKB($5, 4326), $6, $7, $8, $9)
