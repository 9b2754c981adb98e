SELECT version FROM people WHERE id = $1 FOR UPDATE
