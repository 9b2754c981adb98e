//! `/v1/departments`: the offices issues are sent to (责任单位). Everyone
//! reads the list (it is reference data, synced to every device); admins keep it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldvisit_sync::command;
use fieldvisit_sync::issues::departments::{self, Department};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::input::{Body, Path, Query, optional_text, text};

#[derive(Debug, Deserialize, IntoParams)]
pub struct DepartmentFilter {
    /// Also the retired ones (default: only active).
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentList {
    pub items: Vec<Department>,
}

/// The departments, in their order.
#[utoipa::path(get, path = "/v1/departments", tag = "departments", params(DepartmentFilter), security(("bearer" = [])),
    responses((status = 200, body = DepartmentList)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(f): Query<DepartmentFilter>,
) -> ApiResult<Json<DepartmentList>> {
    Ok(Json(DepartmentList { items: departments::list(&state.db, f.all.unwrap_or(false)).await? }))
}

/// One department.
#[utoipa::path(get, path = "/v1/departments/{id}", tag = "departments", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Department), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, _caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Department>> {
    Ok(Json(departments::get(&state.db, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    /// The Chinese name, unique (e.g. 水利局).
    pub name_zh: String,
    pub name_en: String,
    /// Where it sorts; default: last.
    pub sort: Option<i32>,
}

/// Add a department (admins).
#[utoipa::path(post, path = "/v1/departments", tag = "departments", request_body = NewDepartment, security(("bearer" = [])),
    responses((status = 201, body = Department), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(d): Body<NewDepartment>,
) -> ApiResult<(StatusCode, Json<Department>)> {
    caller.require(Permission::EditDepartments)?;
    let id = Uuid::now_v7();
    let create = departments::Create {
        id,
        name_zh: text("name_zh", &d.name_zh, 100)?,
        name_en: text("name_en", &d.name_en, 200)?,
        sort: d.sort,
    };
    command::execute(&state.db, caller.person_id, create).await?;
    Ok((StatusCode::CREATED, Json(departments::get(&state.db, id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentChange {
    pub version: Option<i64>,
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub sort: Option<i32>,
    /// `false` retires it: it stays on the issues that name it, and is offered no more.
    pub active: Option<bool>,
}

/// Rename, reorder, retire or restore a department (admins).
#[utoipa::path(patch, path = "/v1/departments/{id}", tag = "departments", params(("id" = Uuid, Path)),
    request_body = DepartmentChange, security(("bearer" = [])),
    responses((status = 200, body = Department), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(d): Body<DepartmentChange>,
) -> ApiResult<Json<Department>> {
    caller.require(Permission::EditDepartments)?;
    let named = |field: &str, v: Option<&str>, max| -> ApiResult<Option<String>> {
        match v {
            Some(t) if t.trim().is_empty() => Err(ApiError::invalid(field, format!("{field} must not be empty"))),
            other => optional_text(field, other, max),
        }
    };
    let update = departments::Update {
        id,
        version: d.version,
        name_zh: named("name_zh", d.name_zh.as_deref(), 100)?,
        name_en: named("name_en", d.name_en.as_deref(), 200)?,
        sort: d.sort,
        active: d.active,
    };
    command::execute(&state.db, caller.person_id, update).await?;
    Ok(Json(departments::get(&state.db, id).await?))
}
