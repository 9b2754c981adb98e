UPDATE photos SET thumbnail_error = $2, version = version + 1 WHERE id = $1
