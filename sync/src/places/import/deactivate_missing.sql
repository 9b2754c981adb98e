-- A full re-import: the source's active places absent from the file retire.
UPDATE places SET active = false, version = version + 1, updated_at = now()
WHERE source = $1 AND active AND external_id IS NOT NULL AND external_id <> ALL($2)
RETURNING id
