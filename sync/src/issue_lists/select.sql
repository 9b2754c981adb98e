-- Monthly lists with their station's name and item count. `$1` the stations
-- a reader sees (NULL: all); a township-wide list (no station) is seen by
-- readers of the whole township only.
SELECT l.id, to_char(l.month, 'YYYY-MM') AS month, l.station_id, st.name AS station_name,
    CASE WHEN l.issued_at IS NULL THEN 'draft' ELSE 'issued' END AS state,
    l.issued_at, l.issued_by, l.created_by, l.created_at, l.updated_at, l.version,
    (SELECT count(*) FROM issue_list_items it WHERE it.list_id = l.id) AS items
FROM issue_lists l LEFT JOIN stations st ON st.id = l.station_id
WHERE ($1::uuid[] IS NULL OR l.station_id = ANY($1))
