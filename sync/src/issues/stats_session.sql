-- For the statistics' transaction only:
-- - no JIT: compiling the aggregates' expressions cost more than running them,
--   and the planner's estimates for these groupings are far above its thresholds;
-- - memory enough to hash and sort a year of issues without spilling to disk;
-- - the covering indexes of migration 0011 rather than the tables: they hold
--   every column the statistics read, a fraction of the rows' width (issues
--   carry their titles and descriptions), yet with the default page costs the
--   planner still prefers scanning the table for a range this wide.
SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true), set_config('enable_seqscan', 'off', true)
