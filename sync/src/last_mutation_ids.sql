-- The last mutation id taken from each of the clients $1 that has pushed.
SELECT id, last_mutation_id FROM sync_clients WHERE id = ANY($1)
