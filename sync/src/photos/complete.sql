-- Marks a declared photo uploaded, with its sniffed type, its EXIF evidence
-- and the sealed key of its bytes.
UPDATE photos SET status = 'uploaded', uploaded_at = now(), mime = $2, exif_lat = $3, exif_lon = $4,
    exif_taken_at = $5, exif_distance_m = $6, exif_flags = $7, object_key = $8, version = version + 1
WHERE id = $1 AND status = 'declared'
