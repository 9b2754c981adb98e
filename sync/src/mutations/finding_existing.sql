SELECT payload_hash, version FROM findings WHERE id = $1
