SELECT count(*) FROM people WHERE role = 'representative' AND active AND ($1::uuid[] IS NULL OR station_id = ANY($1))
