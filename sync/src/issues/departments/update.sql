UPDATE departments SET name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en), sort = coalesce($4, sort),
    active = coalesce($5, active), updated_at = now(), version = version + 1
WHERE id = $1
