-- Claims the oldest uploaded photo without a thumbnail (or whose claim
-- lapsed), in a statement of its own: SKIP LOCKED shares the work between
-- API instances, and no transaction stays open while the image is decoded.
UPDATE photos SET thumbnail_claimed_at = now() WHERE id = (
    SELECT id FROM photos
    WHERE status = 'uploaded' AND thumbnail_key IS NULL AND thumbnail_error IS NULL
      AND (thumbnail_claimed_at IS NULL OR thumbnail_claimed_at < now() - interval '5 minutes')
    ORDER BY uploaded_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, object_key, mime
