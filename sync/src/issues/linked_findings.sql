-- The findings taken into an issue (or into one merged into it), with their photos.
SELECT f.id, f.issue_id, f.person_id, pe.name AS person_name, f.place_id, pl.name AS place_name, f.category,
    f.description, f.severity::text AS severity, f.created_at,
    coalesce((SELECT json_agg(json_build_object('id', ph.id, 'status', ph.status, 'mime', ph.mime,
        'thumbnail_ready', ph.thumbnail_key IS NOT NULL) ORDER BY ph.declared_at, ph.id)
        FROM photos ph WHERE ph.finding_id = f.id), '[]') AS photos
FROM findings f JOIN people pe ON pe.id = f.person_id JOIN places pl ON pl.id = f.place_id
WHERE f.issue_id = $1 OR f.issue_id IN (SELECT id FROM issues WHERE merged_into = $1)
ORDER BY f.created_at, f.id
