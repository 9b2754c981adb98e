//! `/v1/assignments`: which representative visits which place, and when.
//! Planners edit (`assignment.create.v1`, `.update.v1`, `.end.v1`, in the
//! domain crate); others read in scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use fieldvisit_sync::assignments::{self, Assignment, AssignmentSource};
use fieldvisit_sync::command;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource, Scope};
use crate::error::ApiResult;
use crate::geo_input::double_option;
use crate::input::{Body, Paging, Path, Query};

#[derive(Debug, Deserialize, IntoParams)]
pub struct AssignmentFilter {
    pub person_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    /// The place's station.
    pub station_id: Option<Uuid>,
    pub source: Option<AssignmentSource>,
    /// true: only assignments in force today; false: only ended or future ones.
    pub current: Option<bool>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// List assignments within the caller's scope.
#[utoipa::path(get, path = "/v1/assignments", tag = "assignments", params(AssignmentFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Assignment>), (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<AssignmentFilter>,
) -> ApiResult<Json<Page<Assignment>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    let filter = assignments::Filter {
        person_id: f.person_id,
        place_id: f.place_id,
        station_id: f.station_id,
        source: f.source,
        current: f.current,
        after: f.after,
    };
    let rows = assignments::list(&state.db, &scope, &filter, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |a| a.id)))
}

/// One assignment, if within the caller's scope.
#[utoipa::path(get, path = "/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Assignment), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Assignment>> {
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    Ok(Json(assignments::get(&state.db, &scope, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    pub id: Option<Uuid>,
    pub person_id: Uuid,
    pub place_id: Uuid,
    /// Default: today (Asia/Shanghai).
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// A locked assignment is kept when the nearby rule runs again.
    #[serde(default)]
    pub locked: bool,
}

/// Assign a representative to a place by hand (planners).
#[utoipa::path(post, path = "/v1/assignments", tag = "assignments", request_body = NewAssignment, security(("bearer" = [])),
    responses((status = 201, body = Assignment), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(a): Body<NewAssignment>,
) -> ApiResult<(StatusCode, Json<Assignment>)> {
    caller.require(Permission::EditAssignments)?;
    let create = assignments::Create {
        id: a.id.unwrap_or_else(Uuid::now_v7),
        person_id: a.person_id,
        place_id: a.place_id,
        valid_from: a.valid_from,
        valid_to: a.valid_to,
        locked: a.locked,
        source: assignments::AssignmentSource::Manual,
    };
    let id = command::execute(&state.db, caller.person_id, create).await?;
    Ok((StatusCode::CREATED, Json(assignments::get(&state.db, &Scope::default(), id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentPatch {
    pub version: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub valid_to: Option<Option<NaiveDate>>,
    pub locked: Option<bool>,
}

/// Change an assignment's end or lock (planners).
#[utoipa::path(patch, path = "/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)), request_body = AssignmentPatch, security(("bearer" = [])),
    responses((status = 200, body = Assignment), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(p): Body<AssignmentPatch>,
) -> ApiResult<Json<Assignment>> {
    caller.require(Permission::EditAssignments)?;
    let update = assignments::Update { id, version: p.version, valid_to: p.valid_to, locked: p.locked };
    command::execute(&state.db, caller.person_id, update).await?;
    Ok(Json(assignments::get(&state.db, &Scope::default(), id).await?))
}

/// End an assignment today (planners). The history stays.
#[utoipa::path(delete, path = "/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Assignment), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn end(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Assignment>> {
    caller.require(Permission::EditAssignments)?;
    command::execute(&state.db, caller.person_id, assignments::End { id }).await?;
    Ok(Json(assignments::get(&state.db, &Scope::default(), id).await?))
}
