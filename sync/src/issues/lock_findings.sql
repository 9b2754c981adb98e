-- Findings about to be taken into an issue, locked, with their place's station.
SELECT f.id, f.person_id, f.place_id, pl.station_id, f.category, f.description,
    ST_AsBinary(f.position) AS position, f.issue_id
FROM findings f JOIN places pl ON pl.id = f.place_id
WHERE f.id = ANY($1)
ORDER BY f.id
FOR UPDATE OF f
