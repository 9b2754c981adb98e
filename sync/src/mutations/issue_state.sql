SELECT state, number FROM issues WHERE id = $1
