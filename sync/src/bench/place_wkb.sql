SELECT ST_AsBinary(geom) FROM places WHERE id = $1
