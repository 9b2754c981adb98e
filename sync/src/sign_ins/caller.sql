-- The person $1 and whether their sign-in $2 is live, in one look-up: a
-- sign-in is live while its refresh family has a token that is not revoked,
-- so logout, a password change and reuse detection end access at once. No
-- row: the person is gone or inactive.
SELECT username, role, station_id,
       EXISTS (SELECT FROM refresh_tokens WHERE family_id = $2 AND person_id = $1 AND revoked_at IS NULL) AS live
FROM people WHERE id = $1 AND active
