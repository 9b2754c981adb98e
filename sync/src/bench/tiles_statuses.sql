-- How the benchmark's places came out in month $1 (first day): status and count.
SELECT pc.status, count(*)
FROM place_coverage($1::date,
        (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM places WHERE source = 'bench'), NULL) AS pc
JOIN places pl ON pl.id = pc.place_id AND pl.source = 'bench'
GROUP BY pc.status ORDER BY pc.status
