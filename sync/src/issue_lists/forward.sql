-- The accepted issues of an issued list become forwarded (the events are written apart).
UPDATE issues SET state = 'forwarded', forwarded_in = $1, updated_at = now(), version = version + 1
WHERE id = ANY($2) AND state = 'accepted'
RETURNING id
