-- Findings (what a visit found) and their photos. Photos are declared
-- through sync before any byte moves, so the record syncs even when the
-- bytes cannot yet; the bytes go to object storage with a signed upload.

CREATE TABLE finding_categories (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]{1,39}$'),
    -- The change log names records by UUID; a category's is derived from its code.
    id       uuid GENERATED ALWAYS AS (md5(code)::uuid) STORED UNIQUE,
    label_zh text NOT NULL,
    label_en text NOT NULL,
    sort     integer NOT NULL,
    active   boolean NOT NULL DEFAULT true,
    version  bigint NOT NULL DEFAULT 1
);

CREATE TYPE finding_severity AS ENUM ('low', 'medium', 'high', 'urgent');

CREATE TABLE findings (
    id           uuid PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES people (id),
    place_id     uuid NOT NULL REFERENCES places (id),
    check_in_id  uuid REFERENCES check_ins (id),
    category     text NOT NULL REFERENCES finding_categories (code),
    description  text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 4000),
    severity     finding_severity NOT NULL,
    position     geometry(Point, 4326),
    reported     jsonb,
    -- Set when station staff take the finding into an issue; from then on
    -- the author can no longer edit it (the issue ledger owns it).
    issue_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      bigint NOT NULL DEFAULT 1,
    payload_hash bytea NOT NULL
);
CREATE INDEX findings_place ON findings (place_id, created_at);
CREATE INDEX findings_person ON findings (person_id, created_at);

CREATE TABLE photos (
    id            uuid PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES people (id),
    check_in_id   uuid REFERENCES check_ins (id),
    finding_id    uuid REFERENCES findings (id),
    sha256        bytea NOT NULL CHECK (length(sha256) = 32),
    size          bigint NOT NULL CHECK (size > 0),
    mime          text NOT NULL,
    status        text NOT NULL DEFAULT 'declared' CHECK (status IN ('declared', 'uploaded')),
    object_key    text NOT NULL,
    declared_at   timestamptz NOT NULL DEFAULT now(),
    uploaded_at   timestamptz,
    thumbnail_key text,
    thumbnail_at  timestamptz,
    thumbnail_error text,
    -- When a thumbnail worker took the photo; a claim older than a few
    -- minutes is a crashed worker's and is taken again.
    thumbnail_claimed_at timestamptz,
    -- EXIF evidence, next to the check-in's own: kept and flagged, never refused.
    exif_lat      double precision,
    exif_lon      double precision,
    exif_taken_at timestamp,
    exif_distance_m double precision,
    exif_flags    text[] NOT NULL DEFAULT '{}',
    version       bigint NOT NULL DEFAULT 1,
    payload_hash  bytea NOT NULL,
    CONSTRAINT photos_attached_once CHECK ((check_in_id IS NULL) <> (finding_id IS NULL))
);
CREATE INDEX photos_pending_thumbnails ON photos (uploaded_at) WHERE status = 'uploaded' AND thumbnail_key IS NULL AND thumbnail_error IS NULL;
CREATE INDEX photos_declared ON photos (declared_at) WHERE status = 'declared';

-- Sync: categories are reference data; findings go to their author and to
-- the place's station; photos to their author.
CREATE FUNCTION sync_finding_categories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('ref', 'finding_category', NEW.id, CASE WHEN NEW.active THEN 'upsert' ELSE 'delete' END, NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_finding_categories AFTER INSERT OR UPDATE ON finding_categories
    FOR EACH ROW EXECUTE FUNCTION sync_finding_categories();

-- The code list (codes in English, labels in Chinese and English).
INSERT INTO finding_categories (code, label_zh, label_en, sort) VALUES
    ('financing', '融资', 'Financing', 10),
    ('site_selection', '项目选址', 'Site selection', 20),
    ('hiring', '招工', 'Hiring', 30),
    ('fire_safety', '消防', 'Fire safety', 40),
    ('water', '用水', 'Water', 50),
    ('power', '用电', 'Power', 60),
    ('property_management', '物业管理', 'Property management', 70),
    ('dust_environment', '扬尘环保', 'Dust and environment', 80),
    ('traffic_safety', '交通安全', 'Traffic safety', 90),
    ('homestead_dispute', '宅基地纠纷', 'Homestead disputes', 100),
    ('land_compensation', '征地拆迁补偿', 'Land and relocation compensation', 110),
    ('tax', '税款', 'Tax', 120),
    ('other', '其他', 'Other', 999);

CREATE FUNCTION sync_findings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('rep:' || NEW.person_id, 'finding', NEW.id, 'upsert', NEW.version);
    PERFORM sync_log('station:' || (SELECT station_id FROM places WHERE id = NEW.place_id), 'finding', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_findings AFTER INSERT OR UPDATE ON findings FOR EACH ROW EXECUTE FUNCTION sync_findings();

CREATE FUNCTION sync_photos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_log('rep:' || NEW.person_id, 'photo', NEW.id, 'upsert', NEW.version);
    RETURN NULL;
END $$;
CREATE TRIGGER sync_photos AFTER INSERT OR UPDATE OF status, thumbnail_key, thumbnail_error, exif_flags, version ON photos
    FOR EACH ROW EXECUTE FUNCTION sync_photos();
