//! `/v1/people`: representatives, station staff, planners, presidium, admins.
//! Admins manage people (`person.*` commands, in the domain crate); others
//! read within their scope (see the policy).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::{command, people};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource, Role, Scope, password};
use crate::error::ApiResult;
use crate::geo_input::{self, OutputCrs, Position, double_option};
use crate::input::{Body, Paging, Path, Query, optional_text, text};

// The stored person (`people::Person`) as the API shows it: the anchor in
// the coordinate system the reader asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    /// Where the nearby-assignment rule measures from.
    pub anchor: Option<Position>,
    /// How many places this person can visit each month.
    pub visit_capacity: i32,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    /// The stored person, with the anchor in `crs`.
    fn shown(p: people::Person, crs: Crs) -> ApiResult<Self> {
        Ok(Self {
            id: p.id,
            name: p.name,
            phone: p.phone,
            username: p.username,
            role: p.role,
            station_id: p.station_id,
            anchor: p.anchor.as_deref().map(|w| geo_input::point_out(w, crs)).transpose()?,
            visit_capacity: p.visit_capacity,
            active: p.active,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PersonFilter {
    pub role: Option<Role>,
    pub station_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name, username or phone.
    pub q: Option<String>,
    #[serde(default)]
    pub crs: Crs,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// List people within the caller's scope.
#[utoipa::path(get, path = "/v1/people", tag = "people", params(PersonFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Person>), (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<PersonFilter>,
) -> ApiResult<Json<Page<Person>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let scope = caller.scope(&state.db, Resource::People).await?;
    let filter = people::Filter { role: f.role, station_id: f.station_id, active: f.active, q: f.q, after: f.after };
    let rows = people::list(&state.db, &scope, &filter, limit + 1).await?;
    let items = rows.into_iter().map(|p| Person::shown(p, f.crs)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page::from_rows(items, limit, |p| p.id)))
}

async fn fetch(state: &AppState, scope: &Scope, id: Uuid, crs: Crs) -> ApiResult<Person> {
    Person::shown(people::get(&state.db, scope, id).await?, crs)
}

/// One person, if within the caller's scope.
#[utoipa::path(get, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(o): Query<OutputCrs>,
) -> ApiResult<Json<Person>> {
    let scope = caller.scope(&state.db, Resource::People).await?;
    fetch(&state, &scope, id, o.crs).await.map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub id: Option<Uuid>,
    pub name: String,
    pub phone: Option<String>,
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    pub anchor: Option<Position>,
    pub visit_capacity: Option<i32>,
    #[serde(default)]
    pub crs: Crs,
}

/// Create a person (admins).
#[utoipa::path(post, path = "/v1/people", tag = "people", request_body = NewPerson, security(("bearer" = [])),
    responses((status = 201, body = Person), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(p): Body<NewPerson>,
) -> ApiResult<(StatusCode, Json<Person>)> {
    caller.require(Permission::ManagePeople)?;
    let id = p.id.unwrap_or_else(Uuid::now_v7);
    let name = text("name", &p.name, 100)?;
    let username = text("username", &p.username, 64)?;
    let phone = optional_text("phone", p.phone.as_deref(), 20)?;
    password::check_new_password(&p.password)?;
    let anchor = p.anchor.map(|a| geo_input::point_in("anchor", a, p.crs)).transpose()?;
    let password_hash = password::hash(p.password).await?;
    let create = people::Create {
        id,
        name,
        phone,
        username,
        password_hash,
        role: p.role,
        station_id: p.station_id,
        anchor,
        visit_capacity: p.visit_capacity,
    };
    command::execute(&state.db, caller.person_id, create).await?;
    Ok((StatusCode::CREATED, Json(fetch(&state, &Scope::default(), id, p.crs).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub version: Option<i64>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    pub username: Option<String>,
    /// Sets a new password; every sign-in of this person ends.
    pub password: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    pub station_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub anchor: Option<Option<Position>>,
    pub visit_capacity: Option<i32>,
    pub active: Option<bool>,
    #[serde(default)]
    pub crs: Crs,
}

/// Change a person (admins; planners may change only the anchor and the visit capacity,
/// which the nearby rule reads). Only the fields sent change.
#[utoipa::path(patch, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)), request_body = PersonPatch, security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(p): Body<PersonPatch>,
) -> ApiResult<Json<Person>> {
    // Planners place representatives for the nearby rule: the anchor and the capacity,
    // nothing else of a person.
    let planning_only = p.name.is_none()
        && p.phone.is_none()
        && p.username.is_none()
        && p.password.is_none()
        && p.role.is_none()
        && p.station_id.is_none()
        && p.active.is_none();
    if !(planning_only && caller.may(Permission::EditAssignments)) {
        caller.require(Permission::ManagePeople)?;
    }
    let name = p.name.as_deref().map(|n| text("name", n, 100)).transpose()?;
    let username = p.username.as_deref().map(|u| text("username", u, 64)).transpose()?;
    let phone = p.phone.as_ref().map(|v| optional_text("phone", v.as_deref(), 20)).transpose()?;
    let anchor = p.anchor.map(|a| a.map(|a| geo_input::point_in("anchor", a, p.crs)).transpose()).transpose()?;
    if let Some(pw) = &p.password {
        password::check_new_password(pw)?;
    }
    let password_hash = match p.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let update = people::Update {
        id,
        version: p.version,
        name,
        phone,
        username,
        password_hash,
        role: p.role,
        station_id: p.station_id,
        anchor,
        visit_capacity: p.visit_capacity,
        active: p.active,
    };
    command::execute(&state.db, caller.person_id, update).await?;
    fetch(&state, &Scope::default(), id, p.crs).await.map(Json)
}

/// Deactivate a person (admins): their sign-ins end and their open assignments
/// end today; their records stay.
#[utoipa::path(delete, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Person>> {
    caller.require(Permission::ManagePeople)?;
    command::execute(&state.db, caller.person_id, people::Deactivate { id }).await?;
    fetch(&state, &Scope::default(), id, Crs::Wgs84).await.map(Json)
}
