//! Synthetic issues for `fieldvisit bench export`: thousands of ledger rows
//! in one SQL statement (`bench_load.sql`), not through the commands one by
//! one, since what is measured is the export, not the loading. Not used by
//! the server.

use sqlx::PgPool;

use crate::SyncError;

/// Adds `n` open issues spread over the township's places, categories,
/// departments and stations, raised over the last `n` minutes.
pub async fn load(db: &PgPool, n: u32) -> Result<(), SyncError> {
    sqlx::query(include_str!("bench_load.sql")).bind(i64::from(n)).execute(db).await?;
    Ok(())
}
