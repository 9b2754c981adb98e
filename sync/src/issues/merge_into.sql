-- The surviving issue takes the merged one's raisers and a new version;
-- answers the merged one's number.
WITH raisers AS (
    INSERT INTO issue_raisers (issue_id, person_id)
    SELECT $2, person_id FROM issue_raisers WHERE issue_id = $1
    ON CONFLICT DO NOTHING
), bump AS (
    UPDATE issues SET version = version + 1, updated_at = now() WHERE id = $2
)
SELECT number FROM issues WHERE id = $1
