//! Which rows a reader may see, as the API's access policy resolved it for
//! one request. Every query of the domain takes one.

use uuid::Uuid;

/// `stations = None` means the whole township; `person`, when set, narrows
/// to that person's own records.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub stations: Option<Vec<Uuid>>,
    pub person: Option<Uuid>,
}

/// The station `root` and every station under it: a station's staff's reach.
pub async fn station_subtree(db: &sqlx::PgPool, root: Uuid) -> Result<Vec<Uuid>, crate::SyncError> {
    Ok(sqlx::query_scalar(include_str!("scope/subtree.sql")).bind(root).fetch_all(db).await?)
}

/// Every active station: the station buckets of a township-wide reach.
pub async fn active_stations(db: &sqlx::PgPool) -> Result<Vec<Uuid>, crate::SyncError> {
    Ok(sqlx::query_scalar(include_str!("scope/active_stations.sql")).fetch_all(db).await?)
}
