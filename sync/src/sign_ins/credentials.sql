SELECT id, password_hash FROM people WHERE username = $1 AND active
