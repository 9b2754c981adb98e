SELECT version FROM issues WHERE id = $1
