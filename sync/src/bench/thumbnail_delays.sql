-- Seconds from complete (uploaded_at) to thumbnail ready, by the server's clock.
SELECT EXTRACT(EPOCH FROM thumbnail_at - uploaded_at)::float8 FROM photos WHERE thumbnail_at IS NOT NULL
