-- Loads $2 square grid cells (about 450 m across, in a square block) and $3
-- points scattered over the same block, all in station $1, for the geofence
-- benchmark. The block starts at 邵原镇 and runs north-east.
WITH side AS (SELECT ceil(sqrt($2::float8))::int AS n)
INSERT INTO places (id, kind, name, geom, station_id, source, external_id)
SELECT gen_random_uuid(), 'grid_cell'::place_kind, 'bench cell ' || i, ST_MakeEnvelope(
           112.0 + (i % side.n) * 0.005, 35.0 + (i / side.n) * 0.004,
           112.0 + (i % side.n) * 0.005 + 0.005, 35.0 + (i / side.n) * 0.004 + 0.004, 4326),
       $1, 'bench', 'cell-' || i
FROM side, generate_series(0, $2 - 1) AS i
UNION ALL
SELECT gen_random_uuid(), 'enterprise'::place_kind, 'bench point ' || i,
       ST_SetSRID(ST_MakePoint(112.0 + random() * side.n * 0.005, 35.0 + random() * side.n * 0.004), 4326),
       $1, 'bench', 'point-' || i
FROM side, generate_series(0, $3 - 1) AS i
