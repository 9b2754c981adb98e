SELECT EXISTS (SELECT FROM finding_categories WHERE code = $1 AND active)
