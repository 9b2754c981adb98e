SELECT id, name_zh, name_en, sort, active, version, created_at, updated_at
FROM departments WHERE $1 OR active ORDER BY sort, name_zh
