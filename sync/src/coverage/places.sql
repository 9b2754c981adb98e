-- The month's coverage of the active places of the stations $2 (null: all), of
-- kind $3 (null: all), with their station, assigned representatives and
-- geometry: `place_coverage` (migration 0013) over the whole globe.
SELECT pl.id, pl.name, pl.kind, pl.station_id, st.name AS station_name, ST_AsBinary(pl.geom) AS geom,
       pc.status, pc.visits, pc.last_visit_at, pc.open_issues,
       coalesce((SELECT jsonb_agg(jsonb_build_object('person_id', pe.id, 'name', pe.name) ORDER BY pe.name, pe.id)
                 FROM people pe WHERE pe.id = ANY(pc.person_ids)), '[]') AS assigned
FROM place_coverage($1::date, ST_MakeEnvelope(-180, -90, 180, 90, 4326), $2::uuid[]) pc
JOIN places pl ON pl.id = pc.place_id
JOIN stations st ON st.id = pl.station_id
WHERE ($3::place_kind IS NULL OR pl.kind = $3)
ORDER BY st.name, pl.name, pl.id
