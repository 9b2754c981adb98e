-- Issues locked for a change, in id order (so two merges never deadlock),
-- with their raisers.
SELECT i.id, i.township_id, i.station_id, i.state, i.version,
    ARRAY(SELECT r.person_id FROM issue_raisers r WHERE r.issue_id = i.id ORDER BY r.person_id) AS raisers
FROM issues i WHERE i.id = ANY($1)
ORDER BY i.id
FOR UPDATE OF i
