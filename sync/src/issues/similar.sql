-- Open issues of the same category at the same place or within `$4` metres
-- (geodesic) of a point, nearest first. `$1` the category, `$2` the place,
-- `$3` the point (WKB, WGS84), `$5` an issue to leave out, `$6` the stations
-- of the scope (NULL: all), `$7` the person of the scope.
WITH o AS (
    SELECT i.id, coalesce(i.position, ST_PointOnSurface(pl.geom)) AS at, i.place_id
    FROM issues i LEFT JOIN places pl ON pl.id = i.place_id
    WHERE i.category = $1 AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'answered', 'returned')
      AND ($5::uuid IS NULL OR i.id <> $5)
      AND ($6::uuid[] IS NULL OR i.station_id = ANY($6))
      AND ($7::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $7))
)
SELECT o.id, i.number, i.title, i.state, i.place_id, pl.name AS place_name, o.place_id = $2 AS same_place,
    ST_Distance(o.at::geography, ST_GeomFromWKB($3, 4326)::geography) AS distance_m
FROM o JOIN issues i ON i.id = o.id LEFT JOIN places pl ON pl.id = i.place_id
WHERE o.place_id = $2 OR ST_DWithin(o.at::geography, ST_GeomFromWKB($3, 4326)::geography, $4)
ORDER BY distance_m, i.year, i.seq
