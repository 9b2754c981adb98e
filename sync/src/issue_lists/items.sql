SELECT issue_id, position, carried_over FROM issue_list_items WHERE list_id = $1 ORDER BY position
