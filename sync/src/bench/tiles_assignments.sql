-- Assigns 85% of the tile benchmark's places, each to one representative of
-- its station, from the month before $1 (the measured month's first day) on;
-- the rest stay unassigned.
INSERT INTO assignments (id, person_id, place_id, valid_from, source)
SELECT gen_random_uuid(), r.reps[1 + (abs(hashtext(p.external_id)) % cardinality(r.reps))], p.id,
    ($1::date - interval '1 month')::date, 'rule'
FROM places p
JOIN LATERAL (
    SELECT array_agg(pe.id ORDER BY pe.id) AS reps FROM people pe
    WHERE pe.station_id = p.station_id AND pe.role = 'representative' AND pe.active
) r ON r.reps IS NOT NULL
WHERE p.source = 'bench' AND random() < 0.85
