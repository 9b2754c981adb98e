SELECT basis, body, applied_at IS NOT NULL FROM assignment_proposals WHERE id = $1 FOR UPDATE
