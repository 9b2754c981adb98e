INSERT INTO departments (id, name_zh, name_en, sort)
VALUES ($1, $2, $3, coalesce($4, (SELECT coalesce(max(sort), 0) + 10 FROM departments)))
