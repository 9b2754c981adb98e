SELECT station_subtree($1)
