-- Issues with the names a ledger row shows. `$1` the stations of the scope
-- (NULL: all), `$2` the person of the scope (issues they raised). The
-- position is the issue's own, or a point on its place. `overdue`: past the
-- deadline (Asia/Shanghai) and neither answered nor closed out.
SELECT i.id, i.number, i.title, i.description, i.category, c.label_zh AS category_zh, c.label_en AS category_en,
    i.place_id, pl.name AS place_name,
    ST_X(coalesce(i.position, ST_PointOnSurface(pl.geom))) AS lon,
    ST_Y(coalesce(i.position, ST_PointOnSurface(pl.geom))) AS lat,
    i.station_id, st.name AS station_name, i.department_id, d.name_zh AS department_zh, d.name_en AS department_en,
    i.deadline, i.state,
    (i.deadline IS NOT NULL AND i.deadline < (now() AT TIME ZONE 'Asia/Shanghai')::date
        AND i.state IN ('new', 'accepted', 'forwarded', 'in_progress', 'returned')) AS overdue,
    i.merged_into, i.forwarded_in, i.answer, i.answered_on, i.closed_out_at, i.satisfaction, i.reason,
    coalesce((SELECT json_agg(json_build_object('id', p.id, 'name', p.name) ORDER BY p.name)
        FROM issue_raisers r JOIN people p ON p.id = r.person_id WHERE r.issue_id = i.id), '[]') AS raisers,
    (SELECT count(*) FROM findings f WHERE f.issue_id = i.id) AS findings,
    i.raised_at, i.created_by, i.updated_at, i.version
FROM issues i
JOIN finding_categories c ON c.code = i.category
JOIN stations st ON st.id = i.station_id
LEFT JOIN places pl ON pl.id = i.place_id
LEFT JOIN departments d ON d.id = i.department_id
WHERE ($1::uuid[] IS NULL OR i.station_id = ANY($1))
  AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM issue_raisers r WHERE r.issue_id = i.id AND r.person_id = $2))
