-- The newest proposals first, with their counts (not their bodies) and whether
-- the assignments changed since ($2: the fingerprint now).
SELECT id, params, created_by, created_at, applied_at,
       applied_at IS NULL AND basis <> $2 AS stale,
       jsonb_array_length(body -> 'assignments') AS assignments,
       jsonb_array_length(body -> 'unserved') AS unserved,
       jsonb_array_length(body -> 'diff' -> 'added') AS added,
       jsonb_array_length(body -> 'diff' -> 'removed') AS removed,
       (body -> 'diff' ->> 'kept')::bigint AS kept,
       (body ->> 'total_distance_m')::bigint AS total_distance_m
FROM assignment_proposals
ORDER BY created_at DESC, id DESC
LIMIT $1
