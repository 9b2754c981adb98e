-- The month's coverage ($1) of the active places of the stations ($2; null =
-- every station), from place_coverage (migration 0013: the one definition of
-- covered), each with its shape in the page's pixels (the affine map of
-- stations.sql: $3 scale, $4 and $5 offsets): a point on its surface, where its
-- marker goes, and for a polygon its SVG path data too.
SELECT pl.id, pl.name, pl.kind::text AS kind, pl.station_id, s.name AS station_name, pc.status, pc.assigned,
       pc.visits, pc.last_visit_at, pc.open_issues,
       ARRAY(SELECT pe.name FROM people pe WHERE pe.id = ANY(pc.person_ids) ORDER BY pe.name) AS representatives,
       ST_X(g.centre)::float8 AS x, -ST_Y(g.centre)::float8 AS y,
       CASE WHEN GeometryType(pl.geom) <> 'POINT' THEN ST_AsSVG(g.px, 0, 1) END AS path
FROM place_coverage($1, ST_MakeEnvelope(-180, -90, 180, 90, 4326), $2) pc
JOIN places pl ON pl.id = pc.place_id
JOIN stations s ON s.id = pl.station_id
CROSS JOIN LATERAL (SELECT ST_Affine(ST_Transform(pl.geom, 3857), $3, 0, 0, $3, $4, $5) AS px) a
CROSS JOIN LATERAL (SELECT a.px, ST_PointOnSurface(a.px) AS centre) g
ORDER BY s.code, pl.name, pl.id
