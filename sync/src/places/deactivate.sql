UPDATE places SET active = false, version = version + 1, updated_at = now() WHERE id = $1
