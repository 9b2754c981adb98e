-- The tile list pgbench draws from (`bench_tiles`, numbered from 1): the
-- same tiles the HTTP clients request, so both sides do the same work.
INSERT INTO bench_tiles (i, z, x, y)
SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[])
