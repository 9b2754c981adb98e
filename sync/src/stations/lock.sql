SELECT version FROM stations WHERE id = $1 FOR UPDATE
