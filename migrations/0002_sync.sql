-- Sync: devices (clients) and their mutation log, check-ins, and the change
-- log that pull reads. Change rows are written by triggers in the same
-- transaction as the data, so no write path can forget them.

CREATE TYPE check_in_verdict AS ENUM ('verified', 'outside_geofence', 'low_accuracy', 'suspicious');
CREATE TYPE check_in_review AS ENUM ('accepted', 'rejected');

-- One install of the app, bound to one person on first use.
CREATE TABLE sync_clients (
    id               uuid PRIMARY KEY,
    person_id        uuid NOT NULL REFERENCES people (id),
    last_mutation_id bigint NOT NULL DEFAULT 0 CHECK (last_mutation_id >= 0),
    schema_version   integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_push_at     timestamptz,
    last_pull_at     timestamptz
);
CREATE INDEX sync_clients_person ON sync_clients (person_id);

-- Every mutation taken from a client with its result, so a resent one gets
-- the same answer without being applied again.
CREATE TABLE sync_mutations (
    client_id  uuid NOT NULL REFERENCES sync_clients (id),
    id         bigint NOT NULL,
    name       text NOT NULL,
    status     text NOT NULL CHECK (status IN ('applied', 'rejected')),
    code       text,
    reason     text,
    result     jsonb,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, id)
);

-- The database epoch: a restore or a re-created database gets a new one, and
-- every device cursor from before it answers `reset`.
CREATE TABLE sync_epoch (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch      uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sync_epoch (epoch) VALUES (gen_random_uuid());

CREATE TABLE check_ins (
    id                    uuid PRIMARY KEY,
    person_id             uuid NOT NULL REFERENCES people (id),
    place_id              uuid NOT NULL REFERENCES places (id),
    client_id             uuid REFERENCES sync_clients (id),
    -- Where the device says it stood, converted to WGS84, and as it was sent.
    position              geometry(Point, 4326) NOT NULL,
    reported              jsonb NOT NULL,
    accuracy_m            double precision NOT NULL,
    mock_location         boolean NOT NULL,
    device_time           timestamptz NOT NULL,
    device_utc_offset_s   integer NOT NULL,
    received_at           timestamptz NOT NULL,
    -- Device clock minus server clock at push time, when the device said its clock.
    skew_s                double precision,
    -- The server's estimate of when the visit happened, and its month in Asia/Shanghai.
    visited_at            timestamptz NOT NULL,
    visit_month           date NOT NULL,
    note                  text CHECK (length(note) <= 2000),
    distance_m            double precision NOT NULL,
    geofence_m            double precision NOT NULL,
    speed_kmh             double precision,
    verdict               check_in_verdict NOT NULL,
    reasons               text[] NOT NULL,
    review                check_in_review,
    review_note           text,
    reviewed_by           uuid REFERENCES people (id),
    reviewed_at           timestamptz,
    -- A hash of the create's arguments: the same id with another payload is refused.
    payload_hash          bytea NOT NULL,
    version               bigint NOT NULL DEFAULT 1
);
CREATE INDEX check_ins_person_time ON check_ins (person_id, visited_at);
CREATE INDEX check_ins_place_month ON check_ins (place_id, visit_month);
CREATE INDEX check_ins_to_review ON check_ins (verdict, visited_at) WHERE review IS NULL AND verdict <> 'verified';

-- The change log. Position is (xid, seq): the writing transaction's id and an
-- order within it. Pull returns only rows whose xid is below its snapshot's
-- xmin, so a transaction that took its xid early and commits late is never
-- skipped (a plain sequence or timestamp would skip it).
CREATE TABLE sync_changes (
    bucket     text NOT NULL,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    entity     text NOT NULL,
    entity_id  uuid NOT NULL,
    op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, xid, seq)
);
-- No index by entity: pull reads by position only, and compaction is rare.

CREATE FUNCTION sync_log(bucket text, entity text, entity_id uuid, op text, version bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_changes (bucket, entity, entity_id, op, version) VALUES (bucket, entity, entity_id, op, version)
$$;

-- Stations: the `ref` bucket, which every device carries.
CREATE FUNCTION sync_stations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('ref', 'station', NEW.id, CASE WHEN NEW.active THEN 'upsert' ELSE 'delete' END, NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_stations AFTER INSERT OR UPDATE ON stations FOR EACH ROW EXECUTE FUNCTION sync_stations();

-- Places: their station's bucket. A place that moves leaves the old bucket
-- (with its assignments) and enters the new one.
CREATE FUNCTION sync_places() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a record;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.station_id <> NEW.station_id THEN
        PERFORM sync_log('station:' || OLD.station_id, 'place', NEW.id, 'delete', NEW.version);
        FOR a IN SELECT id, version FROM assignments WHERE place_id = NEW.id LOOP
            PERFORM sync_log('station:' || OLD.station_id, 'assignment', a.id, 'delete', a.version);
            PERFORM sync_log('station:' || NEW.station_id, 'assignment', a.id, 'upsert', a.version);
        END LOOP;
    END IF;
    PERFORM sync_log('station:' || NEW.station_id, 'place', NEW.id, CASE WHEN NEW.active THEN 'upsert' ELSE 'delete' END, NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_places AFTER INSERT OR UPDATE ON places FOR EACH ROW EXECUTE FUNCTION sync_places();

-- Assignments: the place's station bucket and the representative's own.
CREATE FUNCTION sync_assignments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('station:' || (SELECT station_id FROM places WHERE id = NEW.place_id), 'assignment', NEW.id, 'upsert', NEW.version);
    PERFORM sync_log('rep:' || NEW.person_id, 'assignment', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_assignments AFTER INSERT OR UPDATE ON assignments FOR EACH ROW EXECUTE FUNCTION sync_assignments();

-- Check-ins: the representative's own bucket. Statement-level with a
-- transition table, because pushes insert check-ins fifty at a time.
CREATE FUNCTION sync_check_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
    SELECT 'rep:' || person_id, 'check_in', id, 'upsert', version FROM changed_rows ORDER BY id;
    RETURN NULL;
END $$;
CREATE TRIGGER sync_check_ins_insert AFTER INSERT ON check_ins
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_check_ins();
CREATE TRIGGER sync_check_ins_update AFTER UPDATE ON check_ins
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_check_ins();

-- One read of the change log for a pull (see sync/src/pull.rs): the horizon
-- (the snapshot's xmin), the epoch, the client's owner and last mutation id,
-- and up to `per_bucket` changes of each bucket after its position, as JSON.
-- Only rows written by transactions below the xmin are returned: every such
-- transaction has finished, so nothing can still appear below the new
-- position later. A function, so its plan is made once per connection: a
-- custom plan for every pull cost more than the pull itself.
CREATE FUNCTION sync_read_log(buckets text[], xids bigint[], seqs bigint[], per_bucket integer, client uuid)
RETURNS TABLE (horizon bigint, epoch uuid, owner uuid, last_mutation_id bigint, changes json)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
    rows AS (
        SELECT b.ord, c.xid, c.seq, b.bucket, c.entity, c.entity_id, c.op, c.version
        FROM unnest(buckets, xids, seqs) WITH ORDINALITY AS b(bucket, xid, seq, ord)
        CROSS JOIN LATERAL (
            SELECT xid, seq, entity, entity_id, op, version
            FROM sync_changes
            WHERE bucket = b.bucket
              AND (xid, seq) > (b.xid::text::xid8, b.seq)
              AND xid < (SELECT xmin FROM h)
            ORDER BY xid, seq
            LIMIT per_bucket
        ) c
    )
    SELECT (SELECT xmin::text::bigint FROM h) AS horizon,
           (SELECT epoch FROM sync_epoch) AS epoch,
           (SELECT person_id FROM sync_clients WHERE id = client) AS owner,
           (SELECT last_mutation_id FROM sync_clients WHERE id = client) AS last_mutation_id,
           coalesce((SELECT json_agg(json_build_array(bucket, xid::text::bigint, seq, entity, entity_id, op, version)
                                     ORDER BY ord, xid, seq) FROM rows), '[]') AS changes;
END
$fn$;

-- What existed before this migration enters the log once.
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'ref', 'station', id, CASE WHEN active THEN 'upsert' ELSE 'delete' END, version FROM stations;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'station:' || station_id, 'place', id, CASE WHEN active THEN 'upsert' ELSE 'delete' END, version FROM places;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'station:' || p.station_id, 'assignment', a.id, 'upsert', a.version FROM assignments a JOIN places p ON p.id = a.place_id;
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'rep:' || person_id, 'assignment', id, 'upsert', version FROM assignments;
