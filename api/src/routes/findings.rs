//! `/v1/findings`: what visits found, within the caller's scope. Devices
//! create and edit findings through sync (`finding.create.v1`, `.update.v1`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::ApiResult;
use crate::input::{Paging, Query};

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FindingFilter {
    pub place_id: Option<Uuid>,
    pub station_id: Option<Uuid>,
    pub category: Option<String>,
    /// `YYYY-MM` (Asia/Shanghai) of creation.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    pub author_id: Option<Uuid>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// List findings within the caller's scope.
#[utoipa::path(get, path = "/v1/findings", tag = "findings", params(FindingFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Finding>), (status = 400, body = super::ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(f): Query<FindingFilter>) -> ApiResult<Json<Page<Finding>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let month = f.month.as_deref().map(super::visits::parse_month).transpose()?;
    let scope = caller.scope(&state.db, Resource::Findings).await?;
    let rows: Vec<Finding> = sqlx::query_as(
        "SELECT f.id, f.person_id, pe.name AS person_name, f.place_id, pl.name AS place_name, pl.station_id, f.check_in_id,
                f.category, c.label_zh AS category_zh, c.label_en AS category_en, f.description, f.severity::text AS severity,
                ST_X(f.position) AS lon, ST_Y(f.position) AS lat, f.issue_id,
                (SELECT count(*) FROM photos ph WHERE ph.finding_id = f.id) AS photos, f.created_at, f.updated_at, f.version
         FROM findings f JOIN people pe ON pe.id = f.person_id JOIN places pl ON pl.id = f.place_id
         JOIN finding_categories c ON c.code = f.category
         WHERE ($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR f.person_id = $2)
           AND ($3::uuid IS NULL OR f.place_id = $3) AND ($4::uuid IS NULL OR pl.station_id = $4)
           AND ($5::text IS NULL OR f.category = $5)
           AND ($6::date IS NULL OR date_trunc('month', f.created_at AT TIME ZONE 'Asia/Shanghai')::date = $6)
           AND ($7::uuid IS NULL OR f.person_id = $7) AND ($8::uuid IS NULL OR f.id > $8)
         ORDER BY f.id LIMIT $9",
    )
    .bind(scope.stations)
    .bind(scope.person)
    .bind(f.place_id)
    .bind(f.station_id)
    .bind(f.category)
    .bind(month)
    .bind(f.author_id)
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |f| f.id)))
}
