INSERT INTO refresh_tokens (id, family_id, person_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)
