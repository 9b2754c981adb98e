-- What the owner ($2) declared of photo $1.
SELECT status, sha256, size, mime, object_key FROM photos WHERE id = $1 AND person_id = $2
