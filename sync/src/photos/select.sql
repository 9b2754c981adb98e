-- A photo's record, within a scope: `$2` the stations of the place of its
-- check-in or finding, `$3` its owner.
SELECT p.id, p.person_id, p.check_in_id, p.finding_id, p.status, p.mime, p.size, encode(p.sha256, 'hex') AS sha256,
    p.uploaded_at, p.thumbnail_key IS NOT NULL AS thumbnail_ready, p.exif_lat, p.exif_lon, p.exif_distance_m,
    p.exif_flags, p.object_key, p.thumbnail_key
FROM photos p
LEFT JOIN check_ins c ON c.id = p.check_in_id
LEFT JOIN findings f ON f.id = p.finding_id
JOIN places pl ON pl.id = coalesce(c.place_id, f.place_id)
WHERE p.id = $1 AND ($2::uuid[] IS NULL OR pl.station_id = ANY($2)) AND ($3::uuid IS NULL OR p.person_id = $3)
