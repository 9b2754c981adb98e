-- Whether a person exists, is active, and is a representative.
SELECT active, role = 'representative' FROM people WHERE id = $1
