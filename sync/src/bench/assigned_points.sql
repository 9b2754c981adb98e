-- A point inside each place assigned to person $1 (by username), where a bench device checks in.
SELECT pl.id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom))
FROM assignments a JOIN people pe ON pe.id = a.person_id JOIN places pl ON pl.id = a.place_id
WHERE pe.username = $1
