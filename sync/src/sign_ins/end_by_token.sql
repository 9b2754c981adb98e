-- Ends the sign-in the token $1 belongs to; an unknown token ends nothing.
UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL
AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)
