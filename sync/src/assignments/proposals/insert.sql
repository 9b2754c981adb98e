INSERT INTO assignment_proposals (id, params, basis, body, created_by) VALUES ($1, $2, $3, $4, $5)
