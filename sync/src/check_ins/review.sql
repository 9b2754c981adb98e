-- Records a staff decision; answers nothing when the check-in is absent or
-- its place is outside the reviewer's stations ($5, NULL: all).
UPDATE check_ins c SET review = $3::check_in_review, review_note = $4, reviewed_by = $2, reviewed_at = now(),
    version = c.version + 1
FROM places p WHERE c.id = $1 AND p.id = c.place_id AND ($5::uuid[] IS NULL OR p.station_id = ANY($5))
RETURNING c.id
