-- Each row's station: the active one whose code or name is `$1[n]`, or, with
-- no reference, the most specific active one whose service area covers the
-- row's geometry `$2[n]` (a point station before a regional one before the
-- central one). NULL when none.
SELECT (
    SELECT s.id FROM stations s
    WHERE s.active AND (
        (t.ref IS NOT NULL AND (s.code = t.ref OR s.name = t.ref))
        OR (t.ref IS NULL AND ST_Covers(s.service_area, ST_PointOnSurface(ST_GeomFromWKB(t.g, 4326)))))
    ORDER BY s.level DESC, s.code
    LIMIT 1)
FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS t(ref, g, n)
ORDER BY t.n
