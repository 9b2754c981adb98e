//! `fieldvisit photos sweep`: housekeeping of the photo store. Reports photos
//! declared but never uploaded, and removes stored objects that no record
//! references (a dry run unless asked to apply).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use fieldvisit_sync::photos as domain;

use super::Photos;

/// What a sweep found (and, when applied, removed).
#[derive(Debug, Default, serde::Serialize)]
pub struct SweepReport {
    /// Photos declared more than the given days ago whose bytes never came.
    pub never_uploaded: Vec<(Uuid, String, DateTime<Utc>)>,
    /// Stored objects that no photo record names.
    pub orphans: Vec<String>,
    pub removed: usize,
}

pub async fn sweep(db: &PgPool, photos: &Photos, older_than_days: i64, apply: bool) -> anyhow::Result<SweepReport> {
    let never_uploaded = domain::never_uploaded(db, older_than_days).await?;
    let referenced: std::collections::HashSet<String> = domain::referenced_keys(db).await?.into_iter().collect();
    let mut orphans = Vec::new();
    for prefix in ["photos/", "thumbnails/"] {
        orphans.extend(photos.store.list(prefix).await?.into_iter().filter(|k| !referenced.contains(k)));
    }
    let mut removed = 0;
    if apply {
        for key in &orphans {
            photos.store.delete(key).await?;
            removed += 1;
        }
    }
    Ok(SweepReport { never_uploaded, orphans, removed })
}
