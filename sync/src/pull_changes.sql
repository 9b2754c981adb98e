-- The change log read of a pull; the query lives in the database function
-- sync_read_log (migrations/0002_sync.sql) so that its plan is cached.
SELECT horizon, epoch, owner, last_mutation_id, changes FROM sync_read_log($1, $2, $3, $4::integer, $5)
