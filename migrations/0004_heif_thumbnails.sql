-- HEIC/HEIF photos now get thumbnails (through libheif's heif-convert).
-- Those completed before were marked as having none; clear the mark so the
-- thumbnail worker takes them up.
UPDATE photos SET thumbnail_error = NULL, thumbnail_claimed_at = NULL, version = version + 1
WHERE mime = 'image/heic' AND thumbnail_key IS NULL AND thumbnail_error IS NOT NULL;
