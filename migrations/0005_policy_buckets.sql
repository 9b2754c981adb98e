-- Sync buckets derived from the access policy, resource by resource.
--
-- Before, one `station:{id}` bucket carried a station's places, assignments
-- and findings to everyone whose devices held that station, representatives
-- included, so a representative received the other representatives'
-- findings (citizens' complaints, with their authors) that REST rightly
-- hides. Now each synced record goes to its owner's `rep:{person}` bucket
-- and to `{resource}:{station}` of its place's station; the API's policy
-- gives each role the per-station buckets of exactly the resources it may
-- read station-wide (api/src/auth/policy.rs). The old buckets are dropped
-- from the log, so every device is told `removed` for them (and forgets what
-- came only through them) and bootstraps the new ones.

-- Places: `places:{station}`. A place that moves takes its assignments,
-- check-ins, findings and photos from the old station's buckets to the new.
CREATE OR REPLACE FUNCTION sync_places() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.station_id <> NEW.station_id THEN
        PERFORM sync_log('places:' || OLD.station_id, 'place', NEW.id, 'delete', NEW.version);
        FOR r IN
            SELECT 'assignments' AS resource, 'assignment' AS entity, id, version FROM assignments WHERE place_id = NEW.id
            UNION ALL SELECT 'check_ins', 'check_in', id, version FROM check_ins WHERE place_id = NEW.id
            UNION ALL SELECT 'findings', 'finding', id, version FROM findings WHERE place_id = NEW.id
            UNION ALL SELECT 'photos', 'photo', ph.id, ph.version FROM photos ph
                LEFT JOIN check_ins c ON c.id = ph.check_in_id LEFT JOIN findings f ON f.id = ph.finding_id
                WHERE coalesce(c.place_id, f.place_id) = NEW.id
        LOOP
            PERFORM sync_log(r.resource || ':' || OLD.station_id, r.entity, r.id, 'delete', r.version);
            PERFORM sync_log(r.resource || ':' || NEW.station_id, r.entity, r.id, 'upsert', r.version);
        END LOOP;
    END IF;
    PERFORM sync_log('places:' || NEW.station_id, 'place', NEW.id, CASE WHEN NEW.active THEN 'upsert' ELSE 'delete' END, NEW.version);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('assignments:' || (SELECT station_id FROM places WHERE id = NEW.place_id), 'assignment', NEW.id, 'upsert', NEW.version);
    PERFORM sync_log('rep:' || NEW.person_id, 'assignment', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;

-- Statement-level, as before: pushes insert check-ins fifty at a time.
CREATE OR REPLACE FUNCTION sync_check_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
    SELECT b.bucket, 'check_in', r.id, 'upsert', r.version
    FROM changed_rows r JOIN places p ON p.id = r.place_id
    CROSS JOIN LATERAL (VALUES ('rep:' || r.person_id), ('check_ins:' || p.station_id)) AS b(bucket)
    ORDER BY r.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('rep:' || NEW.person_id, 'finding', NEW.id, 'upsert', NEW.version);
    PERFORM sync_log('findings:' || (SELECT station_id FROM places WHERE id = NEW.place_id), 'finding', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;

-- A photo's station is that of the place of the check-in or finding it is attached to.
CREATE OR REPLACE FUNCTION sync_photos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('rep:' || NEW.person_id, 'photo', NEW.id, 'upsert', NEW.version);
    PERFORM sync_log('photos:' || (
        SELECT p.station_id FROM places p
        WHERE p.id = coalesce((SELECT place_id FROM check_ins WHERE id = NEW.check_in_id),
                              (SELECT place_id FROM findings WHERE id = NEW.finding_id))), 'photo', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;

-- The log anew: the old station buckets go, the new ones start from what exists.
DELETE FROM sync_changes WHERE bucket LIKE 'station:%';
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'places:' || station_id, 'place', id, CASE WHEN active THEN 'upsert' ELSE 'delete' END, version FROM places ORDER BY id;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'assignments:' || p.station_id, 'assignment', a.id, 'upsert', a.version FROM assignments a JOIN places p ON p.id = a.place_id ORDER BY a.id;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'check_ins:' || p.station_id, 'check_in', c.id, 'upsert', c.version FROM check_ins c JOIN places p ON p.id = c.place_id ORDER BY c.id;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'findings:' || p.station_id, 'finding', f.id, 'upsert', f.version FROM findings f JOIN places p ON p.id = f.place_id ORDER BY f.id;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'photos:' || p.station_id, 'photo', ph.id, 'upsert', ph.version
FROM photos ph LEFT JOIN check_ins c ON c.id = ph.check_in_id LEFT JOIN findings f ON f.id = ph.finding_id
JOIN places p ON p.id = coalesce(c.place_id, f.place_id) ORDER BY ph.id;
