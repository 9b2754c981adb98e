-- `$1` synthetic open issues for the export benchmark, written in one
-- statement: spread over the township's active places (each issue at its
-- place's station), categories, departments and the open states (which no
-- constraint ties to other columns), raised a minute apart going back from
-- now, each raised by one representative. Numbers continue after the year's
-- last and the year's counter moves past them, so later issues number on.
WITH township AS (SELECT id FROM stations WHERE parent_id IS NULL LIMIT 1),
yr AS (SELECT extract(year FROM now() AT TIME ZONE 'Asia/Shanghai')::int AS y),
base AS (
    SELECT coalesce(max(i.seq), 0) AS s FROM issues i, township t, yr WHERE i.township_id = t.id AND i.year = yr.y
),
pl AS (SELECT id, name, station_id, (row_number() OVER (ORDER BY id) - 1)::int AS k FROM places WHERE active),
cat AS (SELECT code, label_zh, (row_number() OVER (ORDER BY sort, code) - 1)::int AS k FROM finding_categories),
dep AS (SELECT id, (row_number() OVER (ORDER BY sort, id) - 1)::int AS k FROM departments),
reps AS (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS k FROM people WHERE role = 'representative' AND active),
staff AS (SELECT id FROM people WHERE role IN ('presidium', 'admin') ORDER BY role, id LIMIT 1),
counts AS (SELECT (SELECT count(*) FROM pl)::int AS places, (SELECT count(*) FROM cat)::int AS cats,
    (SELECT count(*) FROM dep)::int AS deps, (SELECT count(*) FROM reps)::int AS reps),
g AS (SELECT generate_series(1, $1::int) AS n),
made AS (
    INSERT INTO issues (id, township_id, year, seq, title, description, category, place_id, station_id, department_id,
        deadline, state, raised_at, created_by)
    SELECT gen_random_uuid(), township.id, yr.y, base.s + g.n,
        pl.name || cat.label_zh || '问题（基准 ' || g.n || '）',
        '群众反映' || pl.name || '一带' || cat.label_zh || '方面的问题已持续一段时间，影响生产生活，请相关部门尽快核实并协调解决。',
        cat.code, pl.id, pl.station_id, dep.id,
        (now() AT TIME ZONE 'Asia/Shanghai')::date + (g.n % 90) - 30,
        (ARRAY['new', 'accepted', 'forwarded', 'in_progress', 'answered']::issue_state[])[1 + g.n % 5],
        now() - g.n * interval '1 minute', staff.id
    FROM g CROSS JOIN township CROSS JOIN yr CROSS JOIN base CROSS JOIN staff CROSS JOIN counts
    JOIN pl ON pl.k = g.n % counts.places
    JOIN cat ON cat.k = g.n % counts.cats
    LEFT JOIN dep ON dep.k = g.n % greatest(counts.deps, 1)
    RETURNING id, township_id, year, seq
),
raised AS (
    INSERT INTO issue_raisers (issue_id, person_id)
    SELECT made.id, reps.id FROM made CROSS JOIN counts JOIN reps ON reps.k = made.seq % counts.reps
)
INSERT INTO issue_numbers (township_id, year, last)
SELECT township_id, year, max(seq) FROM made GROUP BY township_id, year
ON CONFLICT (township_id, year) DO UPDATE SET last = greatest(issue_numbers.last, EXCLUDED.last)
