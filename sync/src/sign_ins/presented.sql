-- The presented refresh token, locked: two refreshes with one token take turns,
-- so the second sees the first's `used_at` and counts as a reuse.
SELECT t.id, t.family_id, t.person_id, t.expires_at, t.used_at, t.revoked_at, p.active
FROM refresh_tokens t JOIN people p ON p.id = t.person_id
WHERE t.token_hash = $1
FOR UPDATE OF t
