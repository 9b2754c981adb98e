SELECT id FROM stations WHERE active
