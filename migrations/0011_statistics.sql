-- The statistics of the issue ledger (GET /v1/issues/stats): the visit rule
-- as one function, and the indexes that let a year be counted quickly.

-- The one definition of a check-in that counts as a visit: verified and not
-- rejected on review, or accepted on review whatever its verdict. The monthly
-- visit status and the issue statistics both ask this function, so the two
-- can never disagree. A plain SQL expression marked IMMUTABLE: the planner
-- inlines it, so queries and the index below see the expression itself.
CREATE FUNCTION counts_as_visit(verdict check_in_verdict, review check_in_review) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT review IS NOT DISTINCT FROM 'accepted' OR (verdict = 'verified' AND review IS DISTINCT FROM 'rejected') $$;

-- The statistics count a period's visits from this index alone (an
-- index-only scan, ordered by month and place): a year of a million check-ins
-- reads some 45 MB of index instead of the whole table.
CREATE INDEX check_ins_visits ON check_ins (visit_month, place_id) INCLUDE (person_id)
    WHERE counts_as_visit(verdict, review);

-- Whether an issue now new, returned or rejected was accepted before: the
-- statistics hash the acceptances once, from this index alone.
CREATE INDEX issue_events_accepted ON issue_events (issue_id) WHERE to_state = 'accepted';

-- Every column the statistics read of an issue, in the order of the period
-- they ask for: a year of issues is read from here (index-only) instead of
-- rows that also carry the title and the description.
CREATE INDEX issues_stats ON issues (raised_at) INCLUDE (state, station_id, category, deadline, satisfaction, closed_out_at, id);
