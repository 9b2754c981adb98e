SELECT person_id FROM findings WHERE id = $1
