//! `/v1/people`: representatives, station staff, planners, presidium, admins.
//! Admins manage people; others read within their scope (see the policy).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::command::check_version;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, Permission, Resource, Role, Scope, password};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::{self, OutputCrs, Position, double_option};
use crate::input::{Body, Path, Paging, Query, optional_text, text};

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

#[derive(Debug, sqlx::FromRow)]
struct PersonRow {
    id: Uuid,
    name: String,
    phone: Option<String>,
    username: String,
    role: Role,
    station_id: Option<Uuid>,
    anchor: Option<Vec<u8>>,
    visit_capacity: i32,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, name, phone, username, role, station_id, ST_AsBinary(anchor) AS anchor,
    visit_capacity, active, version, created_at, updated_at FROM people";

/// The scope filter every people query carries: `$1` stations, `$2` person.
const IN_SCOPE: &str = "($1::uuid[] IS NULL OR station_id = ANY($1)) AND ($2::uuid IS NULL OR id = $2)";

impl PersonRow {
    fn into_api(self, crs: Crs) -> ApiResult<Person> {
        Ok(Person {
            id: self.id,
            name: self.name,
            phone: self.phone,
            username: self.username,
            role: self.role,
            station_id: self.station_id,
            anchor: self.anchor.as_deref().map(|w| geo_input::point_out(w, crs)).transpose()?,
            visit_capacity: self.visit_capacity,
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
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
pub async fn list(State(state): State<AppState>, caller: Caller, Query(f): Query<PersonFilter>) -> ApiResult<Json<Page<Person>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let scope = caller.scope(&state.db, Resource::People).await?;
    let rows: Vec<PersonRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE {IN_SCOPE}
           AND ($3::person_role IS NULL OR role = $3) AND ($4::uuid IS NULL OR station_id = $4)
           AND ($5::bool IS NULL OR active = $5)
           AND ($6::text IS NULL OR name ILIKE '%' || $6 || '%' OR username ILIKE '%' || $6 || '%' OR phone LIKE '%' || $6 || '%')
           AND ($7::uuid IS NULL OR id > $7)
         ORDER BY id LIMIT $8"
    )))
    .bind(scope.stations)
    .bind(scope.person)
    .bind(f.role)
    .bind(f.station_id)
    .bind(f.active)
    .bind(f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let items = rows.into_iter().map(|r| r.into_api(f.crs)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page::from_rows(items, limit, |p| p.id)))
}

async fn fetch(state: &AppState, scope: &Scope, id: Uuid, crs: Crs) -> ApiResult<Person> {
    let row: Option<PersonRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE {IN_SCOPE} AND id = $3")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(&state.db)
        .await?;
    row.ok_or(ApiError::NotFound("person"))?.into_api(crs)
}

/// One person, if within the caller's scope.
#[utoipa::path(get, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(o): Query<OutputCrs>) -> ApiResult<Json<Person>> {
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

fn username(v: &str) -> ApiResult<String> {
    let u = text("username", v, 64)?.to_lowercase();
    let ok = u.len() >= 3
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(ApiError::invalid("username", "username needs 3 to 64 characters: a-z, 0-9, '_', '.', '-', starting with a letter or digit"));
    }
    Ok(u)
}

fn phone(v: Option<&str>) -> ApiResult<Option<String>> {
    let Some(p) = optional_text("phone", v, 20)? else { return Ok(None) };
    // The same rule as the column's check: optional '+', a digit, then digits, spaces or '-'.
    let rest = p.strip_prefix('+').unwrap_or(&p);
    let ok = (5..=20).contains(&rest.len())
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if !ok {
        return Err(ApiError::invalid("phone", "phone must be digits, optionally with a leading '+', spaces or '-'"));
    }
    Ok(Some(p))
}

fn capacity(v: i32) -> ApiResult<i32> {
    if (0..=1000).contains(&v) { Ok(v) } else { Err(ApiError::invalid("visit_capacity", "visit_capacity must be between 0 and 1000")) }
}

/// Create a person (admins).
#[utoipa::path(post, path = "/v1/people", tag = "people", request_body = NewPerson, security(("bearer" = [])),
    responses((status = 201, body = Person), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn create(State(state): State<AppState>, caller: Caller, Body(p): Body<NewPerson>) -> ApiResult<(StatusCode, Json<Person>)> {
    caller.require(Permission::ManagePeople)?;
    let id = p.id.unwrap_or_else(Uuid::now_v7);
    let name = text("name", &p.name, 100)?;
    let username = username(&p.username)?;
    let phone = phone(p.phone.as_deref())?;
    password::check_new_password(&p.password)?;
    let anchor = p.anchor.map(|a| geo_input::point_in("anchor", a, p.crs)).transpose()?;
    let cap = capacity(p.visit_capacity.unwrap_or(8))?;
    let hash = password::hash(p.password).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO people (id, name, phone, username, password_hash, role, station_id, anchor, visit_capacity)
         VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromWKB($8, 4326), $9)",
    )
    .bind(id)
    .bind(&name)
    .bind(phone)
    .bind(&username)
    .bind(hash)
    .bind(p.role)
    .bind(p.station_id)
    .bind(anchor.map(|a| geo_input::to_wkb(&a.into())))
    .bind(cap)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "create", "person", id, serde_json::json!({ "username": username, "role": p.role })).await?;
    tx.commit().await?;
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

/// Change a person (admins). Only the fields sent change.
#[utoipa::path(patch, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)), request_body = PersonPatch, security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Body(p): Body<PersonPatch>) -> ApiResult<Json<Person>> {
    caller.require(Permission::ManagePeople)?;
    let name = p.name.as_deref().map(|n| text("name", n, 100)).transpose()?;
    let username = p.username.as_deref().map(username).transpose()?;
    let phone = p.phone.as_ref().map(|v| phone(v.as_deref())).transpose()?;
    let anchor = p.anchor.map(|a| a.map(|a| geo_input::point_in("anchor", a, p.crs)).transpose()).transpose()?;
    let cap = p.visit_capacity.map(capacity).transpose()?;
    if let Some(pw) = &p.password {
        password::check_new_password(pw)?;
    }
    if id == caller.person_id && (p.active == Some(false) || p.role.is_some_and(|r| r != Role::Admin)) {
        return Err(ApiError::Conflict { code: "cannot_demote_self", message: "you cannot deactivate yourself or give up your own admin role".into(), field: None });
    }
    let hash = match p.password.clone() {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM people WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    check_version(p.version, current.ok_or(ApiError::NotFound("person"))?)?;
    sqlx::query(
        "UPDATE people SET
            name = coalesce($2, name),
            phone = CASE WHEN $3 THEN $4 ELSE phone END,
            username = coalesce($5, username),
            password_hash = coalesce($6, password_hash),
            role = coalesce($7, role),
            station_id = CASE WHEN $8 THEN $9 ELSE station_id END,
            anchor = CASE WHEN $10 THEN ST_GeomFromWKB($11, 4326) ELSE anchor END,
            visit_capacity = coalesce($12, visit_capacity),
            active = coalesce($13, active),
            version = version + 1, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(phone.is_some())
    .bind(phone.flatten())
    .bind(username)
    .bind(&hash)
    .bind(p.role)
    .bind(p.station_id.is_some())
    .bind(p.station_id.flatten())
    .bind(anchor.is_some())
    .bind(anchor.flatten().map(|a| geo_input::to_wkb(&a.into())))
    .bind(cap)
    .bind(p.active)
    .execute(&mut *tx)
    .await?;
    if hash.is_some() || p.active == Some(false) {
        end_sign_ins(&mut tx, id).await?;
    }
    if p.active == Some(false) {
        fieldvisit_sync::assignments::end_open(&mut tx, fieldvisit_sync::assignments::Ending::Person(id)).await?;
    }
    audit::record(&mut tx, caller.person_id, "update", "person", id, serde_json::json!({ "password_changed": hash.is_some() })).await?;
    tx.commit().await?;
    fetch(&state, &Scope::default(), id, p.crs).await.map(Json)
}

async fn end_sign_ins(tx: &mut sqlx::PgConnection, person: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL")
        .bind(person)
        .execute(tx)
        .await
        .map(drop)
}


/// Deactivate a person (admins): their sign-ins end and their open assignments
/// end today; their records stay.
#[utoipa::path(delete, path = "/v1/people/{id}", tag = "people", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Person), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn deactivate(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Person>> {
    caller.require(Permission::ManagePeople)?;
    if id == caller.person_id {
        return Err(ApiError::Conflict { code: "cannot_demote_self", message: "you cannot deactivate yourself".into(), field: None });
    }
    let mut tx = state.db.begin().await?;
    let n = sqlx::query("UPDATE people SET active = false, version = version + 1, updated_at = now() WHERE id = $1 AND active")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT FROM people WHERE id = $1)").bind(id).fetch_one(&mut *tx).await?;
        if !exists {
            return Err(ApiError::NotFound("person"));
        }
    }
    end_sign_ins(&mut tx, id).await?;
    fieldvisit_sync::assignments::end_open(&mut tx, fieldvisit_sync::assignments::Ending::Person(id)).await?;
    audit::record(&mut tx, caller.person_id, "deactivate", "person", id, serde_json::json!({})).await?;
    tx.commit().await?;
    fetch(&state, &Scope::default(), id, Crs::Wgs84).await.map(Json)
}
