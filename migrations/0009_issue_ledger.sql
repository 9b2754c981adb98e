-- The issue ledger (台账) and the monthly issue list (问题清单).
--
-- Station staff take representatives' findings into numbered issues; each
-- month an issue list forwards the accepted ones to the township government,
-- and each issue is tracked until a representative who raised it (or the
-- presidium) closes it out (销号) with a satisfaction rating. The workflow
-- itself is written once, in sync/src/issues/workflow.rs; the database keeps
-- the shapes, the numbering and the append-only history.

-- The offices issues are sent to (责任单位), kept by admins.
CREATE TABLE departments (
    id         uuid PRIMARY KEY,
    name_zh    text NOT NULL CHECK (length(btrim(name_zh)) BETWEEN 1 AND 100),
    name_en    text NOT NULL CHECK (length(btrim(name_en)) BETWEEN 1 AND 200),
    sort       integer NOT NULL DEFAULT 0,
    active     boolean NOT NULL DEFAULT true,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT departments_name_zh_key UNIQUE (name_zh)
);

-- Stable ids for the seeded list, so every installation agrees on them.
INSERT INTO departments (id, name_zh, name_en, sort)
SELECT md5('department:' || zh)::uuid, zh, en, n * 10
FROM (VALUES
    (1, '镇政府', 'Township Government'),
    (2, '发改委', 'Development and Reform Commission'),
    (3, '自然资源局', 'Natural Resources Bureau'),
    (4, '人社局', 'Human Resources and Social Security Bureau'),
    (5, '消防救援大队', 'Fire and Rescue Brigade'),
    (6, '水利局', 'Water Resources Bureau'),
    (7, '供电公司', 'Power Supply Company'),
    (8, '住建局', 'Housing and Urban-Rural Development Bureau'),
    (9, '生态环境局', 'Ecology and Environment Bureau'),
    (10, '交通运输局', 'Transport Bureau'),
    (11, '税务局', 'Tax Bureau'),
    (12, '农业农村局', 'Agriculture and Rural Affairs Bureau'),
    (13, '应急管理局', 'Emergency Management Bureau'),
    (14, '市场监管局', 'Market Regulation Bureau'),
    (15, '教育局', 'Education Bureau'),
    (16, '卫健委', 'Health Commission'),
    (17, '公安派出所', 'Police Station')
) AS d(n, zh, en);

CREATE FUNCTION sync_departments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('ref', 'department', NEW.id, CASE WHEN NEW.active THEN 'upsert' ELSE 'delete' END, NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_departments AFTER INSERT OR UPDATE ON departments
    FOR EACH ROW EXECUTE FUNCTION sync_departments();
INSERT INTO sync_changes (bucket, entity, entity_id, op, version)
SELECT 'ref', 'department', id, 'upsert', version FROM departments ORDER BY id;

CREATE TYPE issue_state AS ENUM (
    'new', 'accepted', 'forwarded', 'in_progress', 'answered', 'closed_out', 'returned', 'rejected', 'merged');

-- The last number given per township and year. A number is taken in the
-- transaction that creates the issue, so a refused create gives it back and
-- a committed one is never given again (issues are never deleted).
CREATE TABLE issue_numbers (
    township_id uuid NOT NULL REFERENCES stations (id),
    year        integer NOT NULL,
    last        integer NOT NULL CHECK (last > 0),
    PRIMARY KEY (township_id, year)
);

CREATE TABLE issue_lists (
    id          uuid PRIMARY KEY,
    township_id uuid NOT NULL REFERENCES stations (id),
    -- The station whose subtree the list covers; NULL: the whole township.
    station_id  uuid REFERENCES stations (id),
    -- The first day of the month (Asia/Shanghai) the list is for.
    month       date NOT NULL CHECK (extract(day FROM month) = 1),
    issued_at   timestamptz,
    issued_by   uuid REFERENCES people (id),
    created_by  uuid NOT NULL REFERENCES people (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    CHECK ((issued_at IS NULL) = (issued_by IS NULL))
);
-- One list per month and coverage.
CREATE UNIQUE INDEX issue_lists_one_per_month ON issue_lists (township_id, month, coalesce(station_id, township_id));

CREATE TABLE issues (
    id            uuid PRIMARY KEY,
    township_id   uuid NOT NULL REFERENCES stations (id),
    year          integer NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    seq           integer NOT NULL CHECK (seq > 0),
    -- `2026-0007`: four digits at least, more when a year needs them.
    number        text GENERATED ALWAYS AS (
        year::text || '-' || CASE WHEN seq < 10000 THEN lpad(seq::text, 4, '0') ELSE seq::text END) STORED,
    title         text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description   text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 8000),
    category      text NOT NULL REFERENCES finding_categories (code),
    place_id      uuid REFERENCES places (id),
    position      geometry(Point, 4326),
    station_id    uuid NOT NULL REFERENCES stations (id),
    department_id uuid REFERENCES departments (id),
    deadline      date,
    state         issue_state NOT NULL DEFAULT 'new',
    merged_into   uuid REFERENCES issues (id),
    -- The monthly list that forwarded it to the government.
    forwarded_in  uuid REFERENCES issue_lists (id),
    answer        text,
    answered_on   date,
    closed_out_at timestamptz,
    satisfaction  smallint CHECK (satisfaction BETWEEN 1 AND 5),
    -- Why it was returned or rejected, when it was.
    reason        text,
    raised_at     timestamptz NOT NULL,
    created_by    uuid NOT NULL REFERENCES people (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       bigint NOT NULL DEFAULT 1,
    CONSTRAINT issues_number_key UNIQUE (township_id, year, seq),
    CONSTRAINT issues_located CHECK (place_id IS NOT NULL OR position IS NOT NULL),
    CONSTRAINT issues_merged_into CHECK ((state = 'merged') = (merged_into IS NOT NULL) AND merged_into IS DISTINCT FROM id),
    CONSTRAINT issues_closed_out CHECK ((state = 'closed_out') = (closed_out_at IS NOT NULL))
);
CREATE INDEX issues_ledger ON issues (raised_at DESC, id DESC);
CREATE INDEX issues_station ON issues (station_id, raised_at);
CREATE INDEX issues_open_category ON issues (category) WHERE state NOT IN ('closed_out', 'rejected', 'merged');
CREATE INDEX issues_position ON issues USING gist (position);
CREATE INDEX issues_place ON issues (place_id);

-- The representatives who raised it (from the findings' authors, editable).
CREATE TABLE issue_raisers (
    issue_id  uuid NOT NULL REFERENCES issues (id),
    person_id uuid NOT NULL REFERENCES people (id),
    PRIMARY KEY (issue_id, person_id)
);
CREATE INDEX issue_raisers_person ON issue_raisers (person_id);

ALTER TABLE findings ADD CONSTRAINT findings_issue FOREIGN KEY (issue_id) REFERENCES issues (id);
CREATE INDEX findings_issue ON findings (issue_id) WHERE issue_id IS NOT NULL;

-- The history: every change to an issue, comments included, in order.
CREATE TABLE issue_events (
    id           uuid PRIMARY KEY,
    n            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    issue_id     uuid NOT NULL REFERENCES issues (id),
    at           timestamptz NOT NULL,
    actor_id     uuid NOT NULL REFERENCES people (id),
    action       text NOT NULL,
    from_state   issue_state,
    to_state     issue_state,
    note         text CHECK (length(note) <= 4000),
    -- Fields changed: {"field": [before, after]}; for a merge, the other issue.
    changes      jsonb NOT NULL DEFAULT '{}',
    -- The fingerprint of a device's mutation, so a replay is recognised.
    payload_hash bytea
);
CREATE INDEX issue_events_issue ON issue_events (issue_id, n);

CREATE FUNCTION issue_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the issue history is append-only' USING ERRCODE = 'check_violation', CONSTRAINT = 'issue_events_append_only';
END $$;
CREATE TRIGGER issue_events_append_only BEFORE UPDATE OR DELETE ON issue_events
    FOR EACH ROW EXECUTE FUNCTION issue_events_append_only();

CREATE TABLE issue_list_items (
    list_id      uuid NOT NULL REFERENCES issue_lists (id),
    position     integer NOT NULL CHECK (position > 0),
    issue_id     uuid NOT NULL REFERENCES issues (id),
    -- Forwarded by an earlier list and still open.
    carried_over boolean NOT NULL,
    PRIMARY KEY (list_id, issue_id),
    CONSTRAINT issue_list_items_position UNIQUE (list_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX issue_list_items_issue ON issue_list_items (issue_id);

-- An issued list never changes: the command answers 409 first, these make
-- sure nothing else can. Issuing itself (setting `issued_at`) is the one
-- change an issued list ever sees.
CREATE FUNCTION issue_lists_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.issued_at IS NOT NULL THEN
        RAISE EXCEPTION 'an issued list never changes' USING ERRCODE = 'check_violation', CONSTRAINT = 'issue_lists_frozen';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER issue_lists_frozen BEFORE UPDATE OR DELETE ON issue_lists
    FOR EACH ROW EXECUTE FUNCTION issue_lists_frozen();

CREATE FUNCTION issue_list_items_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT issued_at IS NOT NULL FROM issue_lists
        WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.list_id ELSE OLD.list_id END) THEN
        RAISE EXCEPTION 'an issued list never changes' USING ERRCODE = 'check_violation', CONSTRAINT = 'issue_lists_frozen';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER issue_list_items_frozen BEFORE INSERT OR UPDATE OR DELETE ON issue_list_items
    FOR EACH ROW EXECUTE FUNCTION issue_list_items_frozen();

-- Sync: an issue goes to each raiser's `rep:` bucket and to `issues:` of its
-- station. A change of station or of raisers tells the old holders `delete`.
CREATE FUNCTION sync_issues() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r uuid;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.station_id <> NEW.station_id THEN
        PERFORM sync_log('issues:' || OLD.station_id, 'issue', NEW.id, 'delete', NEW.version);
    END IF;
    PERFORM sync_log('issues:' || NEW.station_id, 'issue', NEW.id, 'upsert', NEW.version);
    FOR r IN SELECT person_id FROM issue_raisers WHERE issue_id = NEW.id ORDER BY person_id LOOP
        PERFORM sync_log('rep:' || r, 'issue', NEW.id, 'upsert', NEW.version);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER sync_issues AFTER INSERT OR UPDATE ON issues FOR EACH ROW EXECUTE FUNCTION sync_issues();

CREATE FUNCTION sync_issue_raisers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM sync_log('rep:' || OLD.person_id, 'issue', OLD.issue_id, 'delete',
            (SELECT version FROM issues WHERE id = OLD.issue_id));
        RETURN NULL;
    END IF;
    PERFORM sync_log('rep:' || NEW.person_id, 'issue', NEW.issue_id, 'upsert',
        (SELECT version FROM issues WHERE id = NEW.issue_id));
    RETURN NULL;
END $$;
CREATE TRIGGER sync_issue_raisers AFTER INSERT OR DELETE ON issue_raisers
    FOR EACH ROW EXECUTE FUNCTION sync_issue_raisers();
