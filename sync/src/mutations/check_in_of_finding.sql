SELECT person_id, place_id FROM check_ins WHERE id = $1
