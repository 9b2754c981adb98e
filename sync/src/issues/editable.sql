SELECT title, description, category, department_id, deadline, place_id FROM issues WHERE id = $1
