-- For the statistics' transaction only: no JIT (compiling the aggregates'
-- expressions cost more than running them, and the planner's estimates for
-- these groupings are far above the JIT thresholds), and memory enough to
-- hash and sort a year of issues without spilling to disk.
SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)
