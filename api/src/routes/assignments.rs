//! `/v1/assignments`: which representative visits which place, and when.
//! Planners edit (the nearby-assignment rule writes `rule` rows, planners
//! `manual` ones; `locked` rows are kept by the rule); others read in scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use fieldvisit_sync::command::check_version;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, Permission, Resource, Scope};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::double_option;
use crate::input::{Body, Path, Paging, Query};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "assignment_source", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AssignmentSource {
    Rule,
    Manual,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Assignment {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub station_id: Uuid,
    pub valid_from: NaiveDate,
    /// Exclusive end; null while open.
    pub valid_to: Option<NaiveDate>,
    pub source: AssignmentSource,
    pub locked: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT a.id, a.person_id, pe.name AS person_name, a.place_id, pl.name AS place_name,
    pl.station_id, a.valid_from, a.valid_to, a.source, a.locked, a.version, a.created_at, a.updated_at
    FROM assignments a JOIN people pe ON pe.id = a.person_id JOIN places pl ON pl.id = a.place_id";

/// `$1` stations (of the place), `$2` person.
const IN_SCOPE: &str = "($1::uuid[] IS NULL OR pl.station_id = ANY($1)) AND ($2::uuid IS NULL OR a.person_id = $2)";

/// Today in Asia/Shanghai, the calendar the township works by.
const TODAY: &str = "(now() AT TIME ZONE 'Asia/Shanghai')::date";

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
pub async fn list(State(state): State<AppState>, caller: Caller, Query(f): Query<AssignmentFilter>) -> ApiResult<Json<Page<Assignment>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    let rows: Vec<Assignment> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE {IN_SCOPE}
           AND ($3::uuid IS NULL OR a.person_id = $3) AND ($4::uuid IS NULL OR a.place_id = $4)
           AND ($5::uuid IS NULL OR pl.station_id = $5) AND ($6::assignment_source IS NULL OR a.source = $6)
           AND ($7::bool IS NULL OR $7 = (a.valid_from <= {TODAY} AND (a.valid_to IS NULL OR a.valid_to > {TODAY})))
           AND ($8::uuid IS NULL OR a.id > $8)
         ORDER BY a.id LIMIT $9"
    )))
    .bind(scope.stations)
    .bind(scope.person)
    .bind(f.person_id)
    .bind(f.place_id)
    .bind(f.station_id)
    .bind(f.source)
    .bind(f.current)
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(Page::from_rows(rows, limit, |a| a.id)))
}

async fn fetch(state: &AppState, scope: &Scope, id: Uuid) -> ApiResult<Assignment> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE {IN_SCOPE} AND a.id = $3")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("assignment"))
}

/// One assignment, if within the caller's scope.
#[utoipa::path(get, path = "/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Assignment), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Assignment>> {
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    fetch(&state, &scope, id).await.map(Json)
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
pub async fn create(State(state): State<AppState>, caller: Caller, Body(a): Body<NewAssignment>) -> ApiResult<(StatusCode, Json<Assignment>)> {
    caller.require(Permission::EditAssignments)?;
    plausible_date("valid_from", a.valid_from)?;
    plausible_date("valid_to", a.valid_to)?;
    let id = a.id.unwrap_or_else(Uuid::now_v7);
    let mut tx = state.db.begin().await?;
    let person: Option<(bool, crate::auth::Role)> =
        sqlx::query_as("SELECT active, role FROM people WHERE id = $1").bind(a.person_id).fetch_optional(&mut *tx).await?;
    match person {
        None => return Err(ApiError::invalid("person_id", "no such person")),
        Some((false, _)) => return Err(ApiError::invalid("person_id", "this person is not active")),
        Some((true, role)) if role != crate::auth::Role::Representative => {
            return Err(ApiError::invalid("person_id", "only representatives are assigned places"));
        }
        Some(_) => {}
    }
    let place: Option<bool> = sqlx::query_scalar("SELECT active FROM places WHERE id = $1").bind(a.place_id).fetch_optional(&mut *tx).await?;
    match place {
        None => return Err(ApiError::invalid("place_id", "no such place")),
        Some(false) => return Err(ApiError::invalid("place_id", "this place is not active")),
        Some(true) => {}
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO assignments (id, person_id, place_id, valid_from, valid_to, source, locked)
         VALUES ($1, $2, $3, coalesce($4, {TODAY}), $5, 'manual', $6)"
    )))
    .bind(id)
    .bind(a.person_id)
    .bind(a.place_id)
    .bind(a.valid_from)
    .bind(a.valid_to)
    .bind(a.locked)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "create", "assignment", id, json!({ "person_id": a.person_id, "place_id": a.place_id })).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(fetch(&state, &Scope::default(), id).await?)))
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
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Body(p): Body<AssignmentPatch>) -> ApiResult<Json<Assignment>> {
    caller.require(Permission::EditAssignments)?;
    plausible_date("valid_to", p.valid_to.flatten())?;
    let mut tx = state.db.begin().await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM assignments WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    check_version(p.version, current.ok_or(ApiError::NotFound("assignment"))?)?;
    sqlx::query(
        "UPDATE assignments SET valid_to = CASE WHEN $2 THEN $3 ELSE valid_to END, locked = coalesce($4, locked),
             version = version + 1, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(p.valid_to.is_some())
    .bind(p.valid_to.flatten())
    .bind(p.locked)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "update", "assignment", id, json!({})).await?;
    tx.commit().await?;
    fetch(&state, &Scope::default(), id).await.map(Json)
}

/// End an assignment today (planners). The history stays.
#[utoipa::path(delete, path = "/v1/assignments/{id}", tag = "assignments", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Assignment), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn end(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Assignment>> {
    caller.require(Permission::EditAssignments)?;
    let mut tx = state.db.begin().await?;
    let found: Option<i64> = sqlx::query_scalar("SELECT version FROM assignments WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    found.ok_or(ApiError::NotFound("assignment"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE assignments SET valid_to = greatest({TODAY}, valid_from + 1), version = version + 1, updated_at = now()
         WHERE id = $1 AND (valid_to IS NULL OR valid_to > {TODAY})"
    )))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "end", "assignment", id, json!({})).await?;
    tx.commit().await?;
    fetch(&state, &Scope::default(), id).await.map(Json)
}

/// Dates outside 2000–2100 are typing errors, not plans.
fn plausible_date(field: &str, d: Option<NaiveDate>) -> ApiResult<()> {
    match d {
        Some(d) if !(2000..=2100).contains(&chrono::Datelike::year(&d)) => {
            Err(ApiError::invalid(field, format!("{field} must be a date between 2000 and 2100")))
        }
        _ => Ok(()),
    }
}

