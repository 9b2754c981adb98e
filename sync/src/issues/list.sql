
  AND ($3::issue_state IS NULL OR i.state = $3) AND ($4::uuid IS NULL OR i.station_id = $4)
  AND ($5::text IS NULL OR i.category = $5) AND ($6::uuid IS NULL OR i.department_id = $6)
  AND ($7::date IS NULL OR date_trunc('month', i.raised_at AT TIME ZONE 'Asia/Shanghai')::date = $7)
  AND ($8::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $8))
  AND (NOT $9 OR (i.deadline < (now() AT TIME ZONE 'Asia/Shanghai')::date
      AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'returned')))
  AND ($10::text IS NULL OR i.number = $10 OR strpos(i.title, $10) > 0 OR strpos(i.description, $10) > 0
      OR strpos(coalesce(pl.name, ''), $10) > 0)
  AND ($11::uuid IS NULL OR (i.raised_at, i.id) < (SELECT a.raised_at, a.id FROM issues a WHERE a.id = $11))
  AND ($13::uuid IS NULL OR i.place_id = $13)
ORDER BY i.raised_at DESC, i.id DESC LIMIT $12
