-- The statistics benchmark's reference: the least any answer must do, count
-- once every check-in of the period that counts as a visit. $1, $2 the first
-- day of `from` and of the month after `to`.
SELECT count(*) FROM check_ins c
WHERE c.visit_month >= $1 AND c.visit_month < $2 AND counts_as_visit(c.verdict, c.review)
