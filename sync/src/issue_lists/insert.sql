-- A new draft: `$7` the issue ids in order, `$8` which of them are carried over.
WITH list AS (
    INSERT INTO issue_lists (id, township_id, station_id, month, created_by) VALUES ($1, $2, $3, $4, $5)
    RETURNING id
)
INSERT INTO issue_list_items (list_id, position, issue_id, carried_over)
SELECT (SELECT id FROM list), n::integer, issue_id, carried_over
FROM unnest($6::uuid[], $7::boolean[]) WITH ORDINALITY AS t(issue_id, carried_over, n)
