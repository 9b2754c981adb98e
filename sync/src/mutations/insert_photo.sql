INSERT INTO photos (id, person_id, check_in_id, finding_id, sha256, size, mime, object_key, payload_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
