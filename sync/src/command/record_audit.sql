INSERT INTO audit_events (actor_id, action, entity, entity_id, details) VALUES ($1, $2, $3, $4, $5)
