-- A new issue, its raisers, and its findings taken into it (a finding's new
-- version tells its author's devices it can no longer be edited).
WITH issue AS (
    INSERT INTO issues (id, township_id, year, seq, title, description, category, place_id, position, station_id,
        department_id, deadline, raised_at, created_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ST_GeomFromWKB($9, 4326), $10, $11, $12, $13, $14)
    RETURNING id
), raisers AS (
    INSERT INTO issue_raisers (issue_id, person_id) SELECT (SELECT id FROM issue), unnest($15::uuid[])
)
UPDATE findings SET issue_id = (SELECT id FROM issue), version = version + 1, updated_at = now()
WHERE id = ANY($16)
