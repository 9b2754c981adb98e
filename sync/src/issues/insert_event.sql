INSERT INTO issue_events (id, issue_id, at, actor_id, action, from_state, to_state, note, changes, payload_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
