SELECT id, name_zh, name_en, sort, active, version, created_at, updated_at FROM departments WHERE id = $1
