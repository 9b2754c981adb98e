SELECT id, township_id, station_id, month, issued_at IS NOT NULL AS issued, version
FROM issue_lists WHERE id = $1 FOR UPDATE
