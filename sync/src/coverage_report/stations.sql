-- The stations drawn ($1; null = every active one): the service area as SVG path
-- data in the page's pixels, and where the name goes. The affine map takes Web
-- Mercator metres to pixels with y up ($2 scale, $3 and $4 offsets); ST_AsSVG
-- negates y itself, which turns it into the page's y down. A station without a
-- service area is labelled at its location.
SELECT s.id, s.name, s.code, s.level,
       ST_AsSVG(ST_Affine(ST_Transform(s.service_area, 3857), $2, 0, 0, $2, $3, $4), 0, 1) AS area,
       ST_X(l.p)::float8 AS label_x, -ST_Y(l.p)::float8 AS label_y
FROM stations s
CROSS JOIN LATERAL (
    SELECT ST_Affine(ST_Transform(coalesce(ST_PointOnSurface(s.service_area), s.location), 3857),
                     $2, 0, 0, $2, $3, $4) AS p
) l
WHERE s.active AND ($1::uuid[] IS NULL OR s.id = ANY($1))
ORDER BY s.level, s.code
