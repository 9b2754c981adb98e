-- An issue's history in order, comments included.
SELECT e.id, e.at, e.actor_id, p.name AS actor_name, e.action, e.from_state, e.to_state, e.note, e.changes
FROM issue_events e JOIN people p ON p.id = e.actor_id
WHERE e.issue_id = $1
ORDER BY e.n
