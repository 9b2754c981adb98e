DELETE FROM issue_list_items WHERE list_id = $1
