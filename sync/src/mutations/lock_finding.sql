SELECT person_id, issue_id FROM findings WHERE id = $1 FOR UPDATE
