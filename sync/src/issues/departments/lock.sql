SELECT version FROM departments WHERE id = $1 FOR UPDATE
