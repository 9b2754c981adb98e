-- The active places the rule assigns; `$1` the stations to take them from (NULL: all).
SELECT id, name, kind, station_id, ST_AsBinary(geom) AS geom
FROM places WHERE active AND ($1::uuid[] IS NULL OR station_id = ANY($1))
ORDER BY id
