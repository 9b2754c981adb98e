SELECT active FROM places WHERE id = $1 FOR UPDATE
