-- $1 of the loaded places in random order, each with a point near its
-- centre (up to about 200 m off), so that verdicts vary.
SELECT id, ST_X(ST_PointOnSurface(geom)) + (random() - 0.5) * 0.004, ST_Y(ST_PointOnSurface(geom)) + (random() - 0.5) * 0.004
FROM places WHERE source = 'bench' ORDER BY random() LIMIT $1
