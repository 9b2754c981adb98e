-- The desk's edit: NULL leaves a field as it is; `$5`/`$7` say whether the
-- department and the deadline are set (possibly to NULL). `$12` the raisers, when given.
WITH gone AS (
    DELETE FROM issue_raisers WHERE $12::uuid[] IS NOT NULL AND issue_id = $1 AND person_id <> ALL($12)
), added AS (
    INSERT INTO issue_raisers (issue_id, person_id)
    SELECT $1, unnest(coalesce($12::uuid[], '{}')) ON CONFLICT DO NOTHING
)
UPDATE issues SET title = coalesce($2, title), description = coalesce($3, description), category = coalesce($4, category),
    department_id = CASE WHEN $5 THEN $6 ELSE department_id END,
    deadline = CASE WHEN $7 THEN $8 ELSE deadline END,
    place_id = coalesce($9, place_id), position = coalesce(ST_GeomFromWKB($10, 4326), position),
    station_id = $11, updated_at = now(), version = version + 1
WHERE id = $1
RETURNING version
