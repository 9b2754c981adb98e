-- A draft's new items, `$2` in order, `$3` which are carried over (the old
-- ones were deleted just before, in the same transaction).
INSERT INTO issue_list_items (list_id, position, issue_id, carried_over)
SELECT $1, n::integer, issue_id, carried_over
FROM unnest($2::uuid[], $3::boolean[]) WITH ORDINALITY AS t(issue_id, carried_over, n)
