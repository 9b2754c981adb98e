UPDATE photos SET thumbnail_key = $2, thumbnail_at = now(), version = version + 1 WHERE id = $1
