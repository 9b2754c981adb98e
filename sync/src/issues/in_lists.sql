-- The monthly lists that hold an issue.
SELECT l.id, to_char(l.month, 'YYYY-MM') AS month, l.station_id, it.position, it.carried_over, l.issued_at
FROM issue_list_items it JOIN issue_lists l ON l.id = it.list_id
WHERE it.issue_id = $1
ORDER BY l.month, l.id
