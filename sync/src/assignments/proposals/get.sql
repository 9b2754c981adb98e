SELECT id, params, basis, body, created_by, created_at, applied_at, applied_by FROM assignment_proposals WHERE id = $1
