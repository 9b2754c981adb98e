SELECT person_id FROM check_ins WHERE id = $1
