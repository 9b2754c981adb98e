-- The issues behind the figures of a period, in total and per month raised, station and
-- category. $1, $2: the period as instants (the first midnight of `from` and
-- of the month after `to`, Asia/Shanghai); $3 the stations of the scope (NULL:
-- all), $4 the raiser of the scope; $5, $6 the station and category filters;
-- $7 the instant each month of the period starts, in order: `width_bucket`
-- finds an issue's month (1, 2, …) by binary search, cheaper than converting
-- every `raised_at` to Asia/Shanghai time.
--
-- This file is the scoped issues only (`i`); stats_counts.sql and
-- stats_medians.sql follow it, and run at the same time on two connections:
-- the counts hash into all four groupings in one pass, the median (an
-- ordered-set aggregate, which cannot be hashed) sorts the closed-out ones.
--
-- Every figure counts the issues RAISED in the period (a cohort), as they
-- stand now: of the issues raised in March, how many were accepted, are
-- closed out, are still open. A merged issue is left out everywhere: it is
-- the same matter as the issue it was merged into, which is counted.
--
-- accepted: reached `accepted` at some point. Every state after it (forwarded,
-- in_progress, answered, closed_out) is reachable only through it; an issue
-- now new, returned or rejected was accepted when its history says so (it may
-- have been accepted, then returned or rejected).
-- overdue: as in select.sql, past the deadline (Asia/Shanghai) and neither
-- answered nor closed out.
-- still open: the workflow's OPEN states (workflow.rs).
WITH i AS NOT MATERIALIZED (
    SELECT width_bucket(i.raised_at, $7::timestamptz[]) AS m, i.station_id, i.category, i.state, i.satisfaction,
        CASE WHEN i.state IN ('accepted', 'forwarded', 'in_progress', 'answered', 'closed_out') THEN true
            -- The history only for the few issues whose state does not tell:
            -- the planner hashes the acceptances once (from a partial index),
            -- then each of those issues is one probe of the hash.
            WHEN i.state IN ('new', 'returned', 'rejected')
                THEN EXISTS (SELECT 1 FROM issue_events e WHERE e.issue_id = i.id AND e.to_state = 'accepted')
            ELSE false END AS accepted,
        -- Today in a subquery: computed once, not converted for every row.
        (i.deadline IS NOT NULL AND i.deadline < (SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date)
            AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'returned')) AS overdue,
        i.closed_out_at, i.raised_at
    FROM issues i
    WHERE i.raised_at >= $1 AND i.raised_at < $2 AND i.state <> 'merged'
      AND ($3::uuid[] IS NULL OR i.station_id = ANY($3))
      AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $4))
      AND ($5::uuid IS NULL OR i.station_id = $5)
      AND ($6::text IS NULL OR i.category = $6)
)
