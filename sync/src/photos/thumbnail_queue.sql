-- Photos uploaded and waiting for their thumbnail (the partial index
-- photos_pending_thumbnails makes this cheap).
SELECT count(*) FROM photos WHERE status = 'uploaded' AND thumbnail_key IS NULL AND thumbnail_error IS NULL
