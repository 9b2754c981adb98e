SELECT station_id, active FROM places WHERE id = $1
