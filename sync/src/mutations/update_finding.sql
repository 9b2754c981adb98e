UPDATE findings SET category = coalesce($2, category), description = coalesce($3, description),
    severity = coalesce($4::finding_severity, severity),
    position = coalesce(ST_GeomFromWKB($5, 4326), position), reported = coalesce($6, reported),
    version = version + 1, updated_at = now()
WHERE id = $1 RETURNING version
