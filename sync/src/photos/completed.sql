SELECT id, status, mime, size, exif_flags, exif_distance_m FROM photos WHERE id = $1
