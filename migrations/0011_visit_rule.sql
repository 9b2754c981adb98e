-- The one definition of a check-in that counts as a visit: verified and not
-- rejected on review, or accepted on review whatever its verdict. The monthly
-- visit status and the issue statistics both ask this function, so the two
-- can never disagree. A plain SQL expression marked IMMUTABLE: the planner
-- inlines it, so queries and the index below see the expression itself.
CREATE FUNCTION counts_as_visit(verdict check_in_verdict, review check_in_review) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT review IS NOT DISTINCT FROM 'accepted' OR (verdict = 'verified' AND review IS DISTINCT FROM 'rejected') $$;
