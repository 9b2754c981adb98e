-- The township (root of the station tree) of `$1`, and the next number of
-- year `$2` there, taken in the caller's transaction.
WITH RECURSIVE up(id, parent_id) AS (
    SELECT id, parent_id FROM stations WHERE id = $1
    UNION ALL
    SELECT s.id, s.parent_id FROM stations s JOIN up ON s.id = up.parent_id
), township AS (
    SELECT id FROM up WHERE parent_id IS NULL
)
INSERT INTO issue_numbers (township_id, year, last)
SELECT id, $2, 1 FROM township
ON CONFLICT (township_id, year) DO UPDATE SET last = issue_numbers.last + 1
RETURNING township_id, last
