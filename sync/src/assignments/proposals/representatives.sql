-- The representatives the rule may assign: active, with an anchor; `$1` the
-- stations to take them from (NULL: all).
SELECT id, name, station_id, ST_AsBinary(anchor) AS anchor, visit_capacity
FROM people
WHERE role = 'representative' AND active AND anchor IS NOT NULL AND ($1::uuid[] IS NULL OR station_id = ANY($1))
ORDER BY id
