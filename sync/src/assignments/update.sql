-- `$2`: whether `valid_to` changes (to `$3`, which may be null: open again).
UPDATE assignments SET valid_to = CASE WHEN $2 THEN $3 ELSE valid_to END, locked = coalesce($4, locked),
    version = version + 1, updated_at = now()
WHERE id = $1
