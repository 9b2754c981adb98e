-- An issue's category, place and point, if within the scope.
SELECT i.category, i.place_id, ST_AsBinary(coalesce(i.position, ST_PointOnSurface(pl.geom)))
FROM issues i LEFT JOIN places pl ON pl.id = i.place_id
WHERE i.id = $1 AND ($2::uuid[] IS NULL OR i.station_id = ANY($2))
  AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $3))
