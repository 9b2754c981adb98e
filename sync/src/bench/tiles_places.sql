-- Loads $1 places for the tile benchmark, clustered around 邵原镇: 40 villages
-- (cluster centres) inside each regional station's service area, with places
-- scattered around each at a spread of its own (about 400 m to 1.5 km). One
-- tenth of the places go to the first regional station (by code), so that it
-- holds about 10,000 at the full size (the GeoJSON measurement); the rest are
-- shared by the others. One place in ten is a small grid cell (a square of
-- 100 to 300 m), one in twenty a project site, the rest enterprises (points).
-- Answers the id of the station holding the tenth.
WITH st AS (
    SELECT (row_number() OVER (ORDER BY code) - 1)::int AS k, id, service_area
    FROM stations WHERE level = 'regional' AND active AND service_area IS NOT NULL
), n AS (
    SELECT count(*)::int AS n FROM st
), centres AS (
    SELECT st.k, (c.path[1] - 1) AS j, ST_X(c.geom) AS cx, ST_Y(c.geom) AS cy
    FROM st, LATERAL ST_Dump(ST_GeneratePoints(st.service_area, 40, 20261201)) AS c
), raw AS (
    SELECT g, CASE WHEN g % 10 = 0 OR n.n = 1 THEN 0 ELSE 1 + g % (n.n - 1) END AS k, (g / 10) % 40 AS j,
        random() + random() + random() - 1.5 AS dx, random() + random() + random() - 1.5 AS dy,
        0.0005 + random() * 0.001 AS half
    FROM generate_series(0, $1::int - 1) AS g, n
), new_places AS (
    INSERT INTO places (id, kind, name, geom, station_id, source, external_id)
    SELECT gen_random_uuid(),
        (CASE WHEN r.g % 10 = 3 THEN 'grid_cell' WHEN r.g % 20 = 7 THEN 'project_site' ELSE 'enterprise' END)::place_kind,
        '基准网点' || r.g,
        CASE WHEN r.g % 10 = 3
            THEN ST_MakeEnvelope(p.x - r.half, p.y - r.half, p.x + r.half, p.y + r.half, 4326)
            ELSE ST_SetSRID(ST_MakePoint(p.x, p.y), 4326) END,
        st.id, 'bench', 'coverage-' || r.g
    FROM raw r
    JOIN st ON st.k = r.k
    JOIN centres c ON c.k = r.k AND c.j = r.j
    CROSS JOIN LATERAL (SELECT 0.008 + 0.006 * (r.j % 4) AS spread) s
    CROSS JOIN LATERAL (SELECT c.cx + r.dx * s.spread AS x, c.cy + r.dy * s.spread * 0.8 AS y) p
    RETURNING 1
)
SELECT (SELECT id FROM st WHERE k = 0) FROM (SELECT count(*) FROM new_places) AS done
