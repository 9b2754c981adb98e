-- People within a scope: $1 stations (NULL: all), $2 one person (NULL: anyone).
SELECT id, name, phone, username, role, station_id, ST_AsBinary(anchor) AS anchor,
       visit_capacity, active, version, created_at, updated_at
FROM people
WHERE ($1::uuid[] IS NULL OR station_id = ANY($1)) AND ($2::uuid IS NULL OR id = $2)
