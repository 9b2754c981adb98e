-- The box, in Web Mercator metres, of what the map shows: the active places and
-- the service areas of the stations ($1; null = every station). NULLs when there
-- is nothing to show.
SELECT ST_XMin(b)::float8 AS min_x, ST_YMin(b)::float8 AS min_y, ST_XMax(b)::float8 AS max_x,
       ST_YMax(b)::float8 AS max_y
FROM (
    SELECT ST_Extent(g) AS b FROM (
        SELECT ST_Transform(pl.geom, 3857) AS g FROM places pl
        WHERE pl.active AND ($1::uuid[] IS NULL OR pl.station_id = ANY($1))
        UNION ALL
        SELECT ST_Transform(s.service_area, 3857) FROM stations s
        WHERE s.active AND s.service_area IS NOT NULL AND ($1::uuid[] IS NULL OR s.id = ANY($1))
    ) shown
) e
