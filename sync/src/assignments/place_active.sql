SELECT active FROM places WHERE id = $1
