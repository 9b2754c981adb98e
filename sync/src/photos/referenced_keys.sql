-- Every stored object a photo record names.
SELECT object_key FROM photos UNION ALL SELECT thumbnail_key FROM photos WHERE thumbnail_key IS NOT NULL
