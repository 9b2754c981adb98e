SELECT version FROM places WHERE id = $1 FOR UPDATE
