SELECT EXISTS (SELECT FROM people WHERE station_id = $1 AND active)
    OR EXISTS (SELECT FROM places WHERE station_id = $1 AND active)
    OR EXISTS (SELECT FROM stations WHERE parent_id = $1 AND active)
