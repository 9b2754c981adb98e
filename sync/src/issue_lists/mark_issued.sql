UPDATE issue_lists SET issued_at = $2, issued_by = $3, updated_at = now(), version = version + 1 WHERE id = $1
RETURNING version
