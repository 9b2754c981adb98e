-- A fingerprint of every assignment and its version: a proposal made on
-- another one is stale.
SELECT md5(coalesce(string_agg(id::text || ':' || version, ',' ORDER BY id), '')) FROM assignments
