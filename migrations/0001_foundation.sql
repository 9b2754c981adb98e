-- The foundation: stations, people, places, assignments, login, audit.
-- Geometry is stored in WGS84 (SRID 4326); conversions from GCJ-02/BD-09
-- happen in the server before anything reaches these tables.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TYPE station_level AS ENUM ('central', 'regional', 'point');
CREATE TYPE person_role AS ENUM ('representative', 'station_staff', 'planner', 'presidium', 'admin');
CREATE TYPE place_kind AS ENUM ('grid_cell', 'enterprise', 'project_site');
CREATE TYPE assignment_source AS ENUM ('rule', 'manual');

CREATE TABLE stations (
    id           uuid PRIMARY KEY,
    parent_id    uuid REFERENCES stations (id),
    level        station_level NOT NULL,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    location     geometry(Point, 4326) NOT NULL,
    service_area geometry(MultiPolygon, 4326) CHECK (service_area IS NULL OR ST_IsValid(service_area)),
    active       boolean NOT NULL DEFAULT true,
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Exactly one root: the central station has no parent, every other has one.
    CONSTRAINT stations_parent_matches_level CHECK ((level = 'central') = (parent_id IS NULL))
);
CREATE UNIQUE INDEX stations_one_central ON stations ((true)) WHERE level = 'central';
CREATE INDEX stations_parent ON stations (parent_id);

-- The subtree of a station, itself included. The tree is small (1+5+N), so a
-- recursive query per request is cheaper than keeping a materialised path.
CREATE FUNCTION station_subtree(root uuid) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE t(id) AS (
        SELECT root
        UNION
        SELECT s.id FROM stations s JOIN t ON s.parent_id = t.id
    )
    SELECT id FROM t
$$;

-- A station may not become its own ancestor; a level must sit below its parent's.
CREATE FUNCTION stations_check_tree() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_level station_level;
BEGIN
    IF NEW.parent_id IS NOT NULL THEN
        IF NEW.parent_id = NEW.id OR NEW.parent_id IN (SELECT station_subtree(NEW.id)) THEN
            RAISE EXCEPTION 'a station cannot be moved under its own subtree'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'stations_no_cycle';
        END IF;
        SELECT level INTO parent_level FROM stations WHERE id = NEW.parent_id;
        IF parent_level = 'point' OR (parent_level = 'regional' AND NEW.level <> 'point') THEN
            RAISE EXCEPTION 'a % station cannot sit under a % station', NEW.level, parent_level
                USING ERRCODE = 'check_violation', CONSTRAINT = 'stations_level_order';
        END IF;
    END IF;
    -- A station's own children must still fit below its (new) level.
    IF TG_OP = 'UPDATE' AND NEW.level <> OLD.level AND EXISTS (
        SELECT FROM stations c WHERE c.parent_id = NEW.id
          AND (NEW.level = 'point' OR (NEW.level = 'regional' AND c.level <> 'point'))) THEN
        RAISE EXCEPTION 'a % station cannot have the sub-stations this one has', NEW.level
            USING ERRCODE = 'check_violation', CONSTRAINT = 'stations_level_order';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER stations_check_tree BEFORE INSERT OR UPDATE OF parent_id, level ON stations
    FOR EACH ROW EXECUTE FUNCTION stations_check_tree();

CREATE TABLE people (
    id             uuid PRIMARY KEY,
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    phone          text CHECK (phone ~ '^\+?[0-9][0-9 -]{4,19}$'),
    username       text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{2,63}$'),
    password_hash  text NOT NULL,
    role           person_role NOT NULL,
    station_id     uuid REFERENCES stations (id),
    anchor         geometry(Point, 4326),
    visit_capacity integer NOT NULL DEFAULT 8 CHECK (visit_capacity BETWEEN 0 AND 1000),
    active         boolean NOT NULL DEFAULT true,
    version        bigint NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- Representatives and station staff work for a station; the others serve the township.
    CONSTRAINT people_station_required
        CHECK (role NOT IN ('representative', 'station_staff') OR station_id IS NOT NULL)
);
CREATE UNIQUE INDEX people_username_key ON people (username);
CREATE INDEX people_station ON people (station_id);
CREATE INDEX people_anchor ON people USING gist (anchor);

CREATE TABLE places (
    id          uuid PRIMARY KEY,
    kind        place_kind NOT NULL,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    address     text CHECK (length(address) <= 500),
    geom        geometry(Geometry, 4326) NOT NULL,
    station_id  uuid NOT NULL REFERENCES stations (id),
    source      text NOT NULL DEFAULT 'manual' CHECK (length(source) BETWEEN 1 AND 100),
    external_id text CHECK (length(external_id) BETWEEN 1 AND 200),
    attributes  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    active      boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT places_external_id_key UNIQUE (source, external_id),
    CONSTRAINT places_geom_shape CHECK (
        CASE kind
            WHEN 'grid_cell' THEN GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')
            ELSE GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')
        END),
    CONSTRAINT places_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX places_geom ON places USING gist (geom);
CREATE INDEX places_station ON places (station_id);

CREATE TABLE assignments (
    id         uuid PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES people (id),
    place_id   uuid NOT NULL REFERENCES places (id),
    valid_from date NOT NULL,
    valid_to   date,
    source     assignment_source NOT NULL,
    locked     boolean NOT NULL DEFAULT false,
    version    bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assignments_period CHECK (valid_to IS NULL OR valid_to > valid_from),
    -- One person holds one place once at a time.
    CONSTRAINT assignments_no_overlap EXCLUDE USING gist (
        person_id WITH =, place_id WITH =, daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX assignments_place ON assignments (place_id);

-- Refresh tokens rotate on every use. All tokens issued from one login form a
-- family; presenting a token that was already used revokes the whole family,
-- because only a thief and the owner can both hold it.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    person_id   uuid NOT NULL REFERENCES people (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Failed logins per username, kept in the database so every API instance
-- sees the same count (the API is stateless).
CREATE TABLE login_throttle (
    username        text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz
);

-- The JWT signing key, shared by every API instance unless one is configured.
CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    private_pem text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor_id  uuid REFERENCES people (id),
    action    text NOT NULL,
    entity    text NOT NULL,
    entity_id uuid,
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id);
