SELECT p.id, p.name, p.username, p.role, p.station_id, s.name AS station_name, p.phone
FROM people p LEFT JOIN stations s ON s.id = p.station_id
WHERE p.id = $1
