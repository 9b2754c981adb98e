SELECT last_mutation_id FROM sync_clients WHERE id = $1
