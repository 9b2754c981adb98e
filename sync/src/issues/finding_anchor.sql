-- A finding's category, place and point (its own position, or a point on
-- its place), if within the scope (`$2` stations of its place, `$3` author).
SELECT f.category, f.place_id, ST_AsBinary(coalesce(f.position, ST_PointOnSurface(pl.geom)))
FROM findings f JOIN places pl ON pl.id = f.place_id
WHERE f.id = $1 AND ($2::uuid[] IS NULL OR pl.station_id = ANY($2)) AND ($3::uuid IS NULL OR f.person_id = $3)
