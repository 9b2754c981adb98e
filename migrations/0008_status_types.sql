-- Photo and mutation statuses become enum types, like every other closed set
-- in the schema (roles, kinds, verdicts), so that the Rust enums in `sync`
-- map them directly. Converted in place: every stored value is kept.

-- A photo is declared, then its bytes are uploaded.
CREATE TYPE photo_status AS ENUM ('declared', 'uploaded');

-- The partial indexes compare the column with text, and the sync trigger
-- names the column; both are made again on the new type, unchanged.
DROP TRIGGER sync_photos ON photos;
DROP INDEX photos_pending_thumbnails;
DROP INDEX photos_declared;
ALTER TABLE photos DROP CONSTRAINT photos_status_check;
ALTER TABLE photos ALTER COLUMN status DROP DEFAULT;
ALTER TABLE photos ALTER COLUMN status TYPE photo_status USING status::photo_status;
ALTER TABLE photos ALTER COLUMN status SET DEFAULT 'declared';
CREATE INDEX photos_pending_thumbnails ON photos (uploaded_at)
    WHERE status = 'uploaded' AND thumbnail_key IS NULL AND thumbnail_error IS NULL;
CREATE INDEX photos_declared ON photos (declared_at) WHERE status = 'declared';
CREATE TRIGGER sync_photos AFTER INSERT OR UPDATE OF status, thumbnail_key, thumbnail_error, exif_flags, version ON photos
    FOR EACH ROW EXECUTE FUNCTION sync_photos();

-- A device's mutation as answered: the one type of the wire's `status`.
-- `duplicate` is an answer only (a resent mutation gets its stored result),
-- so a recorded result stays applied or rejected.
CREATE TYPE mutation_status AS ENUM ('applied', 'duplicate', 'rejected');

ALTER TABLE sync_mutations DROP CONSTRAINT sync_mutations_status_check;
ALTER TABLE sync_mutations ALTER COLUMN status TYPE mutation_status USING status::mutation_status;
ALTER TABLE sync_mutations ADD CONSTRAINT sync_mutations_recorded CHECK (status IN ('applied', 'rejected'));
