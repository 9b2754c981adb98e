-- An assignment with the names of its person and place. `$1` the stations
-- (of the place) of the scope, `$2` the person of the scope.
SELECT a.id, a.person_id, pe.name AS person_name, a.place_id, pl.name AS place_name,
    pl.station_id, a.valid_from, a.valid_to, a.source, a.locked, a.version, a.created_at, a.updated_at
FROM assignments a JOIN people pe ON pe.id = a.person_id JOIN places pl ON pl.id = a.place_id
WHERE ($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR a.person_id = $2)
