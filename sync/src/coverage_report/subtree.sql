-- The active stations of a station's subtree (itself included); none when it
-- does not exist or is inactive.
SELECT s.id FROM stations s WHERE s.id IN (SELECT station_subtree($1)) AND s.active
  AND EXISTS (SELECT 1 FROM stations r WHERE r.id = $1 AND r.active)
