-- The newest migration applied (readiness compares it with the binary's own).
SELECT max(version) FROM _sqlx_migrations WHERE success
