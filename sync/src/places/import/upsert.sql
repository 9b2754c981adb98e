-- The rows of an import, matched on (source, external id): new ones are
-- inserted, changed ones updated with a new version, unchanged ones left
-- alone (no row returned). A row to repair gets `ST_MakeValid`, keeping its
-- polygons. Answers, per row written, whether it was created.
WITH incoming AS (
    SELECT t.*, ST_GeomFromWKB(t.wkb, 4326) AS raw
    FROM unnest($2::text[], $3::text[], $4::place_kind[], $5::text[], $6::bytea[], $7::uuid[], $8::jsonb[],
        $9::boolean[], $10::uuid[]) AS t(external_id, name, kind, address, wkb, station_id, attributes, repair, id)
), prepared AS (
    SELECT i.*, CASE WHEN i.repair THEN ST_Multi(ST_CollectionExtract(ST_MakeValid(i.raw), 3)) ELSE i.raw END AS geom
    FROM incoming i
)
INSERT INTO places AS p (id, kind, name, address, geom, station_id, source, external_id, attributes)
SELECT id, kind, name, address, geom, station_id, $1, external_id, attributes FROM prepared
ON CONFLICT (source, external_id) DO UPDATE
SET kind = EXCLUDED.kind, name = EXCLUDED.name, address = EXCLUDED.address, geom = EXCLUDED.geom,
    station_id = EXCLUDED.station_id, attributes = EXCLUDED.attributes, active = true,
    version = p.version + 1, updated_at = now()
WHERE (p.kind, p.name, p.address, p.station_id, p.attributes, p.active)
        IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.address, EXCLUDED.station_id, EXCLUDED.attributes, true)
   OR NOT ST_OrderingEquals(p.geom, EXCLUDED.geom)
RETURNING (xmax = 0) AS created
