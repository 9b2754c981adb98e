//! The database's own health, for readiness: it answers, and which schema it has.

/// The version of the newest migration applied successfully, if any.
pub async fn applied_migration(db: &sqlx::PgPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(include_str!("health/applied_migration.sql")).fetch_one(db).await
}
