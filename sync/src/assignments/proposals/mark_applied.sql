UPDATE assignment_proposals SET applied_at = now(), applied_by = $2 WHERE id = $1
