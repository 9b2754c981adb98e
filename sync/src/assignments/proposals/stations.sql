SELECT id, parent_id FROM stations WHERE active
