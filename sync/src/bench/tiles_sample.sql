-- $1 of the tile benchmark's places in random order, a point on each (lon, lat):
-- the tiles sampled at each zoom are the ones holding these.
SELECT ST_X(c), ST_Y(c) FROM (
    SELECT ST_PointOnSurface(geom) AS c FROM places WHERE source = 'bench' ORDER BY random() LIMIT $1
) AS s
