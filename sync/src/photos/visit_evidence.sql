-- The position (lon, lat) and time of the visit photo $1 belongs to: its
-- check-in's, or its finding's (the finding's own position, else its
-- check-in's).
SELECT ST_X(coalesce(f.position, c.position, fc.position)), ST_Y(coalesce(f.position, c.position, fc.position)),
    coalesce(c.visited_at, fc.visited_at, f.created_at)
FROM photos p
LEFT JOIN check_ins c ON c.id = p.check_in_id
LEFT JOIN findings f ON f.id = p.finding_id
LEFT JOIN check_ins fc ON fc.id = f.check_in_id
WHERE p.id = $1
