-- Visit coverage: one definition of "covered", shared by `/v1/visits/status`,
-- `/v1/coverage`, its trend, the printable report and the vector tiles.
--
-- A place is `visited` in a month when a representative assigned to it in that
-- month has a check-in there that counts as a visit (`counts_as_visit`) in that
-- calendar month (Asia/Shanghai: `visit_month` was computed in that zone when
-- the check-in arrived); `unassigned` when no assignment is in force at any time
-- of the month; otherwise `due` while the month runs and `overdue` once it is over.

-- Whether an assignment running [valid_from, valid_to) is in force at some time of
-- the month (its first day).
CREATE FUNCTION in_force_during(valid_from date, valid_to date, p_month date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT valid_from < (p_month + interval '1 month')::date AND (valid_to IS NULL OR valid_to > p_month) $$;

-- Every assignment in force during the month, with its visits that count in that
-- month. The one place the rule is written.
CREATE FUNCTION month_assignment_visits(p_month date)
RETURNS TABLE (assignment_id uuid, place_id uuid, person_id uuid, visits bigint, first_check_in uuid,
               first_visit_at timestamptz, last_visit_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT a.id, a.place_id, a.person_id, v.visits, v.first_id, v.first_at, v.last_at
    FROM assignments a
    CROSS JOIN LATERAL (
        SELECT count(*) AS visits, (array_agg(c.id ORDER BY c.visited_at, c.id))[1] AS first_id,
               min(c.visited_at) AS first_at, max(c.visited_at) AS last_at
        FROM check_ins c
        WHERE c.person_id = a.person_id AND c.place_id = a.place_id AND c.visit_month = p_month
          AND counts_as_visit(c.verdict, c.review)
    ) v
    WHERE in_force_during(a.valid_from, a.valid_to, p_month)
$$;

-- Whether the month (its first day) is over in Asia/Shanghai.
CREATE FUNCTION month_is_over(p_month date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date >= (p_month + interval '1 month')::date $$;

-- A place's status from how many assignments were in force and how many visits counted.
CREATE FUNCTION coverage_status(p_month date, assigned bigint, visits bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN assigned = 0 THEN 'unassigned' WHEN visits > 0 THEN 'visited'
                WHEN month_is_over(p_month) THEN 'overdue' ELSE 'due' END
$$;

-- The ledger's open states (workflow.rs `OPEN`): what the map counts as a place's open issues.
CREATE FUNCTION issue_is_open(s issue_state) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT s IN ('new', 'accepted', 'forwarded', 'in_progress', 'answered', 'returned') $$;

-- A place's latest visit that counts, up to a month, from the index alone: the
-- statistics' index (visit_month first) would scan every earlier month's visits of
-- the whole township for each place.
CREATE INDEX check_ins_place_visits ON check_ins (place_id, visit_month) INCLUDE (visited_at)
    WHERE counts_as_visit(verdict, review);

-- The coverage of the active places whose geometry's box meets `p_area` (4326; the
-- GiST index finds them) and, unless `p_stations` is null, that belong to those
-- stations. `last_visit_at` is the place's latest visit that counts, by anyone, up
-- to the end of the month; `visits` counts only the month's visits by the assigned.
CREATE FUNCTION place_coverage(p_month date, p_area geometry, p_stations uuid[])
RETURNS TABLE (place_id uuid, status text, assigned bigint, visits bigint, last_visit_at timestamptz,
               person_ids uuid[], open_issues bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pl.id, coverage_status(p_month, m.assigned, m.visits), m.assigned, m.visits, lv.at,
           m.persons, oi.n
    FROM places pl
    CROSS JOIN LATERAL (
        SELECT count(*) AS assigned, coalesce(sum(mav.visits), 0)::bigint AS visits,
               coalesce(array_agg(mav.person_id ORDER BY mav.person_id) FILTER (WHERE mav.person_id IS NOT NULL),
                        '{}') AS persons
        FROM month_assignment_visits(p_month) mav
        WHERE mav.place_id = pl.id
    ) m
    CROSS JOIN LATERAL (
        SELECT max(c.visited_at) AS at FROM check_ins c
        WHERE c.place_id = pl.id AND c.visit_month <= p_month AND counts_as_visit(c.verdict, c.review)
    ) lv
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM issues i WHERE i.place_id = pl.id AND issue_is_open(i.state)
    ) oi
    WHERE pl.active AND pl.geom && p_area AND (p_stations IS NULL OR pl.station_id = ANY(p_stations))
$$;

-- Mapbox Vector Tiles of the coverage, with Martin's function-source signature, so
-- that a Martin server can serve it as well as fieldvisit does. `query_params`:
--   month        'YYYY-MM' (default: the current month, Asia/Shanghai)
--   stations     'all' or a comma-separated list of station ids: the caller's scope.
--                Absent (or empty), the tile is empty: the function never widens a
--                scope it was not given.
--   assignments  'true' to add the `assignments` layer (planners).
-- Layers: `places` (id, name, kind, status, visits, open_issues), `stations` (id, name,
-- level, the service area) and `assignments` (anchor → place, person and place).
CREATE FUNCTION coverage_tile(z integer, x integer, y integer, query_params json) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    envelope geometry := ST_TileEnvelope(z, x, y);
    area geometry := ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326);
    scope text := nullif(btrim(coalesce(query_params ->> 'stations', '')), '');
    stations uuid[];
    month date;
    with_assignments boolean := coalesce(query_params ->> 'assignments', '') IN ('true', '1');
    places_layer bytea;
    stations_layer bytea;
    assignments_layer bytea := '';
BEGIN
    IF scope IS NULL THEN
        RETURN '';
    END IF;
    IF scope <> 'all' THEN
        stations := string_to_array(scope, ',')::uuid[];
    END IF;
    month := coalesce(to_date(nullif(query_params ->> 'month', '') || '-01', 'YYYY-MM-DD'),
                      date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date);

    SELECT ST_AsMVT(t, 'places', 4096, 'geom') INTO places_layer FROM (
        SELECT ST_AsMVTGeom(ST_Transform(pl.geom, 3857), envelope, 4096, 64, true) AS geom,
               pl.id::text AS id, pl.name, pl.kind::text AS kind, pc.status, pc.visits::integer AS visits,
               pc.open_issues::integer AS open_issues, pl.station_id::text AS station_id
        FROM place_coverage(month, area, stations) pc
        JOIN places pl ON pl.id = pc.place_id
    ) t WHERE t.geom IS NOT NULL;

    SELECT ST_AsMVT(t, 'stations', 4096, 'geom') INTO stations_layer FROM (
        SELECT ST_AsMVTGeom(ST_Transform(s.service_area, 3857), envelope, 4096, 64, true) AS geom,
               s.id::text AS id, s.name, s.level::text AS level
        FROM stations s
        WHERE s.active AND s.service_area && area AND (stations IS NULL OR s.id = ANY(stations))
    ) t WHERE t.geom IS NOT NULL;

    IF with_assignments THEN
        -- A line is drawn from both of its tiles; its place is found through the index
        -- within 0.1° (some 10 km, beyond any visit) of the tile.
        SELECT ST_AsMVT(t, 'assignments', 4096, 'geom') INTO assignments_layer FROM (
            SELECT ST_AsMVTGeom(ST_Transform(l.line, 3857), envelope, 4096, 64, true) AS geom,
                   a.id::text AS id, pe.id::text AS person_id, pe.name AS person_name,
                   pl.id::text AS place_id, pl.name AS place_name
            FROM places pl
            JOIN assignments a ON a.place_id = pl.id AND in_force_during(a.valid_from, a.valid_to, month)
            JOIN people pe ON pe.id = a.person_id AND pe.anchor IS NOT NULL
            CROSS JOIN LATERAL (SELECT ST_MakeLine(pe.anchor, ST_PointOnSurface(pl.geom)) AS line) l
            WHERE pl.active AND pl.geom && ST_Expand(area, 0.1) AND l.line && area
              AND (stations IS NULL OR pl.station_id = ANY(stations))
        ) t WHERE t.geom IS NOT NULL;
    END IF;

    RETURN coalesce(places_layer, '') || coalesce(stations_layer, '') || coalesce(assignments_layer, '');
END
$$;
