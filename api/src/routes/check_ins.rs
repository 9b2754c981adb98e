//! `/v1/check-ins`: judged check-ins, for review by station staff and
//! planners. Devices create them through `/v1/sync/push`; this resource reads
//! them and asks for the review (`checkin.review.v1`, in the domain crate).

use axum::Json;
use axum::extract::State;
use fieldvisit_sync::check_ins::{self, CheckIn, ReviewDecision};
use fieldvisit_sync::command;
use fieldvisit_sync::month::Month;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource};
use crate::error::ApiResult;
use crate::input::{Body, Paging, Path, Query, optional_text};

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

/// List check-ins within the caller's scope, newest first by id.
#[utoipa::path(get, path = "/v1/check-ins", tag = "check-ins", params(CheckInFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<CheckIn>), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<CheckInFilter>,
) -> ApiResult<Json<Page<CheckIn>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let month = super::visits::month_param(f.month.as_deref())?;
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    let filter = check_ins::Filter {
        verdict: f.verdict,
        review: f.review,
        station_id: f.station_id,
        person_id: f.person_id,
        place_id: f.place_id,
        month: month.map(Month::first_day),
        after: f.after,
    };
    let rows = check_ins::list(&state.db, &scope, &filter, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |c| c.id)))
}

/// One check-in with its evidence, if within the caller's scope.
#[utoipa::path(get, path = "/v1/check-ins/{id}", tag = "check-ins", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CheckIn), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<CheckIn>> {
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    Ok(Json(check_ins::get(&state.db, &scope, id).await?))
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
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(r): Body<Review>,
) -> ApiResult<Json<CheckIn>> {
    caller.require(Permission::ReviewCheckIns)?;
    let note = optional_text("note", r.note.as_deref(), 1000)?;
    let scope = caller.scope(&state.db, Resource::CheckIns).await?;
    let review = check_ins::Review { id, decision: r.decision, note, stations: scope.stations.clone() };
    command::execute(&state.db, caller.person_id, review).await?;
    Ok(Json(check_ins::get(&state.db, &scope, id).await?))
}
