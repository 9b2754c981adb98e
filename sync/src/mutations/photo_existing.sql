SELECT payload_hash, status FROM photos WHERE id = $1
