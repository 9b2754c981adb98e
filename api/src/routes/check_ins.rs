//! `/v1/check-ins`: judged check-ins, for review by station staff and
//! planners. Devices create them through `/v1/sync/push`; this resource reads
//! them and records the review.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use fieldvisit_sync::mutations::checkin::{self, ReviewDecision};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, Permission, Resource, Scope};
use crate::error::{ApiError, ApiResult};
use crate::input::{Body, Path, Paging, Query, optional_text};

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct CheckIn {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub station_id: Uuid,
    /// WGS84, as converted from what the device sent.
    pub lon: f64,
    pub lat: f64,
    /// The position as the device sent it, with its `crs`.
    #[schema(value_type = Object)]
    pub reported: serde_json::Value,
    pub accuracy_m: f64,
    pub mock_location: bool,
    pub device_time: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Device clock minus server clock at push time, in seconds, when known.
    pub skew_s: Option<f64>,
    pub visited_at: DateTime<Utc>,
    /// Seconds from the visit to the server's receipt: the evidence of the
    /// reason `late` (past the late grace period, or into a closed month).
    pub late_by_s: i64,
    /// `YYYY-MM`, Asia/Shanghai.
    pub month: String,
    pub note: Option<String>,
    pub distance_m: f64,
    pub geofence_m: f64,
    pub speed_kmh: Option<f64>,
    /// verified, outside_geofence, low_accuracy or suspicious.
    pub verdict: String,
    /// outside_geofence, low_accuracy, mock_location, device_time_in_future,
    /// impossible_speed, late.
    pub reasons: Vec<String>,
    /// accepted or rejected, once reviewed.
    pub review: Option<String>,
    pub review_note: Option<String>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

const SELECT: &str = "SELECT c.id, c.person_id, pe.name AS person_name, c.place_id, pl.name AS place_name, pl.station_id,
    ST_X(c.position) AS lon, ST_Y(c.position) AS lat, c.reported, c.accuracy_m, c.mock_location, c.device_time,
    c.received_at, c.skew_s, c.visited_at,
    round(EXTRACT(EPOCH FROM c.received_at - c.visited_at))::bigint AS late_by_s, to_char(c.visit_month, 'YYYY-MM') AS month, c.note, c.distance_m,
    c.geofence_m, c.speed_kmh, c.verdict::text AS verdict, c.reasons, c.review::text AS review, c.review_note,
    c.reviewed_by, c.reviewed_at, c.version
    FROM check_ins c JOIN people pe ON pe.id = c.person_id JOIN places pl ON pl.id = c.place_id";

/// `$1` stations (of the place), `$2` person.
const IN_SCOPE: &str = "($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR c.person_id = $2)";

#[derive(Debug, Deserialize, IntoParams)]
pub struct CheckInFilter {
    /// verified, outside_geofence, low_accuracy, suspicious.
    pub verdict: Option<String>,
    /// pending (not yet reviewed), accepted, rejected.
    pub review: Option<String>,
    pub station_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    /// `YYYY-MM` (Asia/Shanghai).
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

fn one_of(field: &str, v: Option<&str>, allowed: &[&str]) -> ApiResult<()> {
    match v {
        Some(x) if !allowed.contains(&x) => Err(ApiError::Invalid {
            code: "invalid_parameter",
            message: format!("{field} must be one of {}", allowed.join(", ")),
            field: Some(field.into()),
        }),
        _ => Ok(()),
    }
}

/// List check-ins within the caller's scope, newest first by id.
#[utoipa::path(get, path = "/v1/check-ins", tag = "check-ins", params(CheckInFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<CheckIn>), (status = 400, body = super::ErrorBody)))]
pub async fn list(State(state): State<AppState>, caller: Caller, Query(f): Query<CheckInFilter>) -> ApiResult<Json<Page<CheckIn>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    one_of("verdict", f.verdict.as_deref(), &["verified", "outside_geofence", "low_accuracy", "suspicious"])?;
    one_of("review", f.review.as_deref(), &["pending", "accepted", "rejected"])?;
    let month = f.month.as_deref().map(super::visits::parse_month).transpose()?;
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    let rows: Vec<CheckIn> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE {IN_SCOPE}
           AND ($3::text IS NULL OR c.verdict::text = $3)
           AND ($4::text IS NULL OR coalesce(c.review::text, 'pending') = $4)
           AND ($5::uuid IS NULL OR pl.station_id = $5) AND ($6::uuid IS NULL OR c.person_id = $6)
           AND ($7::uuid IS NULL OR c.place_id = $7) AND ($8::date IS NULL OR c.visit_month = $8)
           AND ($9::uuid IS NULL OR c.id > $9)
         ORDER BY c.id LIMIT $10"
    )))
    .bind(scope.stations)
    .bind(scope.person)
    .bind(f.verdict)
    .bind(f.review)
    .bind(f.station_id)
    .bind(f.person_id)
    .bind(f.place_id)
    .bind(month)
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |c| c.id)))
}

async fn fetch(state: &AppState, scope: &Scope, id: Uuid) -> ApiResult<CheckIn> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE {IN_SCOPE} AND c.id = $3")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("check-in"))
}

/// One check-in with its evidence, if within the caller's scope.
#[utoipa::path(get, path = "/v1/check-ins/{id}", tag = "check-ins", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CheckIn), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<CheckIn>> {
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    fetch(&state, &scope, id).await.map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// accepted: counts as a visit whatever the verdict; rejected: never counts.
    pub decision: ReviewDecision,
    pub note: Option<String>,
}

/// Review a check-in (station staff within their subtree, planners). The
/// decision is an audit event.
#[utoipa::path(post, path = "/v1/check-ins/{id}/review", tag = "check-ins", params(("id" = Uuid, Path)), request_body = Review,
    security(("bearer" = [])),
    responses((status = 200, body = CheckIn), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn review(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Body(r): Body<Review>) -> ApiResult<Json<CheckIn>> {
    caller.require(Permission::ReviewCheckIns)?;
    let note = optional_text("note", r.note.as_deref(), 1000)?;
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    let mut tx = state.db.begin().await?;
    if !checkin::review(&mut tx, caller.person_id, scope.stations.as_deref(), id, r.decision, note.as_deref()).await? {
        return Err(ApiError::NotFound("check-in"));
    }
    audit::record(&mut tx, caller.person_id, "review", "check_in", id, json!({ "decision": r.decision, "note": note })).await?;
    tx.commit().await?;
    fetch(&state, &scope, id).await.map(Json)
}
