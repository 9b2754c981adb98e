-- A success clears the pair's count; stale counts of other names go too, so
-- made-up usernames do not pile up.
DELETE FROM login_throttle WHERE (username = $1 AND address = $2) OR last_failure_at < now() - interval '1 day'
