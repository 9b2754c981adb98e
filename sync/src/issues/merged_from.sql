-- The issues merged into this one.
SELECT id, number FROM issues WHERE merged_into = $1 ORDER BY year, seq
