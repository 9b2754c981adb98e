-- Whether a category exists, a department (if named) is active, and how many
-- of the raisers are active representatives.
SELECT EXISTS (SELECT 1 FROM finding_categories WHERE code = $1 AND active),
    $2::uuid IS NULL OR EXISTS (SELECT 1 FROM departments WHERE id = $2 AND active),
    (SELECT count(*) FROM people WHERE id = ANY($3) AND role = 'representative' AND active)
