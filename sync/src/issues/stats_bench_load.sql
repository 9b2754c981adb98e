-- Loads $1 issues and $2 check-ins over the twelve months ending now
-- (Asia/Shanghai) into a database holding a township, for the statistics
-- benchmark: one statement, generated rows, no round trip per row. Issues go
-- to every place, station and category in turn, through every state but
-- merged, with the history the workflow would have written (create, accept,
-- forward, acknowledge, answer, confirm; returned and rejected ones accepted
-- first half of the time) and one raiser each. Check-ins go to the
-- assignments in turn: 80% verified, the rest outside the fence or of low
-- accuracy, with some of both kinds reviewed. Numbers start at 100001 so the
-- township's own issues keep theirs.
WITH bounds AS (
    SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '11 months') AT TIME ZONE 'Asia/Shanghai'
            AS start,
        now() AS stop
), ref AS (
    SELECT (SELECT id FROM stations WHERE parent_id IS NULL ORDER BY id LIMIT 1) AS township,
        (SELECT array_agg(code ORDER BY sort) FROM finding_categories WHERE active) AS cats,
        (SELECT array_agg(id ORDER BY id) FROM places WHERE active) AS places,
        (SELECT array_agg(station_id ORDER BY id) FROM places WHERE active) AS place_stations,
        (SELECT array_agg(id ORDER BY id) FROM people WHERE role = 'representative') AS reps,
        (SELECT id FROM people WHERE role = 'presidium' ORDER BY username LIMIT 1) AS clerk,
        (SELECT array_agg(person_id ORDER BY id) FROM assignments) AS a_people,
        (SELECT array_agg(place_id ORDER BY id) FROM assignments) AS a_places
), new_issues AS (
    INSERT INTO issues (id, township_id, year, seq, title, description, category, place_id, station_id, deadline, state,
        answer, answered_on, closed_out_at, satisfaction, raised_at, created_by)
    SELECT gen_random_uuid(), ref.township, extract(year FROM s.raised_at AT TIME ZONE 'Asia/Shanghai')::int, 100000 + g,
        'bench issue ' || g, 'bench issue ' || g || ', for the statistics benchmark',
        ref.cats[1 + g % cardinality(ref.cats)], ref.places[1 + g % cardinality(ref.places)],
        ref.place_stations[1 + g % cardinality(ref.places)], (s.raised_at AT TIME ZONE 'Asia/Shanghai')::date + 30, s.state,
        CASE WHEN s.state IN ('answered', 'closed_out') THEN 'answered' END,
        CASE WHEN s.state IN ('answered', 'closed_out') THEN (s.raised_at AT TIME ZONE 'Asia/Shanghai')::date END,
        CASE WHEN s.state = 'closed_out' THEN least(s.raised_at + (1 + g % 60) * interval '1 day', bounds.stop) END,
        CASE WHEN s.state = 'closed_out' THEN 1 + g % 5 END,
        s.raised_at, ref.clerk
    FROM ref, bounds, generate_series(1, $1::int) AS g,
        LATERAL (SELECT (ARRAY['new', 'new', 'returned', 'rejected', 'accepted', 'accepted', 'forwarded', 'forwarded',
                'in_progress', 'in_progress', 'answered', 'answered', 'closed_out', 'closed_out', 'closed_out', 'closed_out',
                'closed_out', 'closed_out', 'closed_out', 'closed_out'])[1 + g % 20]::issue_state AS state,
            bounds.start + (bounds.stop - bounds.start) * random() + g * interval '0 s' AS raised_at) AS s
    RETURNING id, seq, state, raised_at, created_by
), path_events AS (
    INSERT INTO issue_events (id, issue_id, at, actor_id, action, from_state, to_state)
    SELECT gen_random_uuid(), i.id, i.raised_at + step.k * interval '1 hour', i.created_by, step.action, step.from_state,
        step.to_state
    FROM new_issues i
    CROSS JOIN (VALUES
        (0, 'create', NULL::issue_state, 'new'::issue_state),
        (1, 'accept', 'new', 'accepted'),
        (2, 'forward', 'accepted', 'forwarded'),
        (3, 'acknowledge', 'forwarded', 'in_progress'),
        (4, 'answer', 'in_progress', 'answered'),
        (5, 'confirm', 'answered', 'closed_out')) AS step (k, action, from_state, to_state)
    WHERE step.k <= CASE i.state WHEN 'new' THEN 0 WHEN 'accepted' THEN 1 WHEN 'forwarded' THEN 2
        WHEN 'in_progress' THEN 3 WHEN 'answered' THEN 4 WHEN 'closed_out' THEN 5 ELSE i.seq % 2 END
), exit_events AS (
    INSERT INTO issue_events (id, issue_id, at, actor_id, action, from_state, to_state)
    SELECT gen_random_uuid(), i.id, i.raised_at + interval '1 day', i.created_by,
        CASE i.state WHEN 'returned' THEN 'return' ELSE 'reject' END,
        CASE WHEN i.seq % 2 = 1 THEN 'accepted' ELSE 'new' END::issue_state, i.state
    FROM new_issues i
    WHERE i.state IN ('returned', 'rejected')
), raisers AS (
    INSERT INTO issue_raisers (issue_id, person_id)
    SELECT i.id, ref.reps[1 + i.seq % cardinality(ref.reps)] FROM new_issues i, ref
)
INSERT INTO check_ins (id, person_id, place_id, position, reported, accuracy_m, mock_location, device_time,
    device_utc_offset_s, received_at, visited_at, visit_month, distance_m, geofence_m, verdict, reasons, review,
    payload_hash)
SELECT gen_random_uuid(), ref.a_people[1 + g % cardinality(ref.a_people)], ref.a_places[1 + g % cardinality(ref.a_places)],
    ST_SetSRID(ST_MakePoint(112.1, 35.1), 4326), '{}', 10, false, v.at, 28800, v.at + interval '1 minute', v.at,
    date_trunc('month', v.at AT TIME ZONE 'Asia/Shanghai')::date, 5, 50,
    (CASE WHEN g % 10 < 8 THEN 'verified' WHEN g % 10 = 8 THEN 'outside_geofence' ELSE 'low_accuracy' END)::check_in_verdict,
    '{}', (CASE WHEN g % 40 = 9 THEN 'accepted' WHEN g % 40 = 8 THEN 'rejected' WHEN g % 40 = 0 THEN 'rejected' END)::check_in_review,
    '\x00'
FROM ref, bounds, generate_series(1, $2::int) AS g,
    LATERAL (SELECT bounds.start + (bounds.stop - bounds.start) * random() + g * interval '0 s' AS at) AS v
