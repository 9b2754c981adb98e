-- The township (root of the station tree).
SELECT id FROM stations WHERE parent_id IS NULL
