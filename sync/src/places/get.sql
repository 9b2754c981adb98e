WHERE ($1::uuid[] IS NULL OR station_id = ANY($1)) AND id = $2
