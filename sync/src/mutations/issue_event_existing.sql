SELECT issue_id, payload_hash FROM issue_events WHERE id = $1
