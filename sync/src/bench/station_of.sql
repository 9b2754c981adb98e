SELECT station_id FROM people WHERE username = $1
