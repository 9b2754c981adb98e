//! Findings as people at a desk see them: what visits found, within a scope.
//! Devices create and edit them through push ([`crate::mutations::finding`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::SyncError;
use crate::month::Month;
use crate::scope::Scope;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub station_id: Uuid,
    pub check_in_id: Option<Uuid>,
    pub category: String,
    pub category_zh: String,
    pub category_en: String,
    pub description: String,
    pub severity: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Set once station staff took it into an issue; the author can no longer edit it.
    pub issue_id: Option<Uuid>,
    pub photos: i64,
    /// The photos whose bytes have arrived (their thumbnails can be asked for).
    pub photo_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// What a list of findings is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub place_id: Option<Uuid>,
    pub station_id: Option<Uuid>,
    pub category: Option<String>,
    /// The month (Asia/Shanghai) of creation.
    pub month: Option<Month>,
    pub author_id: Option<Uuid>,
    /// `Some(false)`: only those not yet taken into an issue (a station's inbox).
    pub in_issue: Option<bool>,
    pub after: Option<Uuid>,
}

/// Up to `limit` findings of the scope by id, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<Finding>, SyncError> {
    Ok(sqlx::query_as(include_str!("list.sql"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(filter.place_id)
        .bind(filter.station_id)
        .bind(&filter.category)
        .bind(filter.month.map(Month::first_day))
        .bind(filter.author_id)
        .bind(filter.after)
        .bind(limit)
        .bind(filter.in_issue)
        .fetch_all(db)
        .await?)
}
