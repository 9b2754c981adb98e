-- When the township was first loaded: its earliest station.
SELECT min(created_at) FROM stations
