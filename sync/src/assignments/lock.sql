SELECT version FROM assignments WHERE id = $1 FOR UPDATE
