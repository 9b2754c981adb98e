-- Filed when the server received it ($11; the month of the township's issue
-- list follows it); the same as now() for a live push.
INSERT INTO findings (id, person_id, place_id, check_in_id, category, description, severity, position, reported, payload_hash,
                      created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::finding_severity, ST_GeomFromWKB($8, 4326), $9, $10, $11, $11)
