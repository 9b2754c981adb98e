//! `/v1/stations`: the liaison-station tree. Everybody reads it; planners edit it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::{self, OutputCrs, Position, double_option};
use crate::input::{Body, Path, Paging, Query, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "station_level", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StationLevel {
    Central,
    Regional,
    Point,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Station {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub level: StationLevel,
    pub code: String,
    pub name: String,
    pub location: Position,
    /// GeoJSON (Multi)Polygon, or null.
    #[schema(value_type = Option<Object>)]
    pub service_area: Option<serde_json::Value>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct StationRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    level: StationLevel,
    code: String,
    name: String,
    location: Vec<u8>,
    service_area: Option<Vec<u8>>,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, parent_id, level, code, name, ST_AsBinary(location) AS location,
    ST_AsBinary(service_area) AS service_area, active, version, created_at, updated_at FROM stations";

impl StationRow {
    fn into_api(self, crs: Crs) -> ApiResult<Station> {
        Ok(Station {
            id: self.id,
            parent_id: self.parent_id,
            level: self.level,
            code: self.code,
            name: self.name,
            location: geo_input::point_out(&self.location, crs)?,
            service_area: self.service_area.as_deref().map(|w| geo_input::geometry_out(w, crs)).transpose()?,
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StationFilter {
    pub level: Option<StationLevel>,
    pub parent_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name or code.
    pub q: Option<String>,
    #[serde(default)]
    pub crs: Crs,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// List stations.
#[utoipa::path(get, path = "/v1/stations", tag = "stations", params(StationFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Station>), (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody)))]
pub async fn list(State(state): State<AppState>, _caller: Caller, Query(f): Query<StationFilter>) -> ApiResult<Json<Page<Station>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let rows: Vec<StationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE ($1::station_level IS NULL OR level = $1) AND ($2::uuid IS NULL OR parent_id = $2)
           AND ($3::bool IS NULL OR active = $3)
           AND ($4::text IS NULL OR name ILIKE '%' || $4 || '%' OR code ILIKE '%' || $4 || '%')
           AND ($5::uuid IS NULL OR id > $5)
         ORDER BY id LIMIT $6"
    )))
    .bind(f.level)
    .bind(f.parent_id)
    .bind(f.active)
    .bind(f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let items = rows.into_iter().map(|r| r.into_api(f.crs)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page::from_rows(items, limit, |s| s.id)))
}

async fn fetch(state: &AppState, id: Uuid, crs: Crs) -> ApiResult<Station> {
    let row: Option<StationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"))).bind(id).fetch_optional(&state.db).await?;
    row.ok_or(ApiError::NotFound("station"))?.into_api(crs)
}

/// One station.
#[utoipa::path(get, path = "/v1/stations/{id}", tag = "stations", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = Station), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, _caller: Caller, Path(id): Path<Uuid>, Query(o): Query<OutputCrs>) -> ApiResult<Json<Station>> {
    fetch(&state, id, o.crs).await.map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStation {
    /// Client-made id (UUID v7 preferred); the server makes one when absent.
    pub id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub level: StationLevel,
    pub code: String,
    pub name: String,
    pub location: Position,
    #[schema(value_type = Option<Object>)]
    pub service_area: Option<serde_json::Value>,
    /// The system of every coordinate in this body.
    #[serde(default)]
    pub crs: Crs,
}

async fn service_area(v: Option<serde_json::Value>, crs: Crs) -> ApiResult<Option<Vec<u8>>> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
    let g = match geo_input::geometry_in("service_area", v, crs).await? {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        _ => return Err(ApiError::invalid("service_area", "service_area must be a Polygon or MultiPolygon")),
    };
    Ok(Some(geo_input::to_wkb(&geo::Geometry::MultiPolygon(g))))
}

fn code(v: &str) -> ApiResult<String> {
    let c = text("code", v, 64)?.to_lowercase();
    if !c.starts_with(|ch: char| ch.is_ascii_alphanumeric()) || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
        return Err(ApiError::invalid("code", "code may contain only a-z, 0-9, '-' and '_', starting with a letter or digit"));
    }
    Ok(c)
}

/// Create a station (planners).
#[utoipa::path(post, path = "/v1/stations", tag = "stations", request_body = NewStation, security(("bearer" = [])),
    responses((status = 201, body = Station), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a service_area of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn create(State(state): State<AppState>, caller: Caller, Body(s): Body<NewStation>) -> ApiResult<(axum::http::StatusCode, Json<Station>)> {
    caller.require(Permission::EditStations)?;
    let id = s.id.unwrap_or_else(Uuid::now_v7);
    let name = text("name", &s.name, 200)?;
    let code = code(&s.code)?;
    let location = geo_input::point_in("location", s.location, s.crs)?;
    let area = service_area(s.service_area, s.crs).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO stations (id, parent_id, level, code, name, location, service_area)
         VALUES ($1, $2, $3, $4, $5, ST_GeomFromWKB($6, 4326), ST_GeomFromWKB($7, 4326))",
    )
    .bind(id)
    .bind(s.parent_id)
    .bind(s.level)
    .bind(&code)
    .bind(&name)
    .bind(geo_input::to_wkb(&location.into()))
    .bind(area)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "create", "station", id, serde_json::json!({ "code": code, "name": name })).await?;
    tx.commit().await?;
    Ok((axum::http::StatusCode::CREATED, Json(fetch(&state, id, s.crs).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationPatch {
    /// When given, the update applies only if the station is still at this version.
    pub version: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Uuid>>,
    pub level: Option<StationLevel>,
    pub code: Option<String>,
    pub name: Option<String>,
    pub location: Option<Position>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub service_area: Option<Option<serde_json::Value>>,
    pub active: Option<bool>,
    #[serde(default)]
    pub crs: Crs,
}

/// Change a station (planners). Only the fields sent change.
#[utoipa::path(patch, path = "/v1/stations/{id}", tag = "stations", params(("id" = Uuid, Path)), request_body = StationPatch, security(("bearer" = [])),
    responses((status = 200, body = Station), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a service_area of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Body(p): Body<StationPatch>) -> ApiResult<Json<Station>> {
    caller.require(Permission::EditStations)?;
    let name = p.name.as_deref().map(|n| text("name", n, 200)).transpose()?;
    let code = p.code.as_deref().map(code).transpose()?;
    let location = p.location.map(|l| geo_input::point_in("location", l, p.crs)).transpose()?;
    let area = match p.service_area {
        Some(a) => Some(service_area(a, p.crs).await?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM stations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let current = current.ok_or(ApiError::NotFound("station"))?;
    check_version(p.version, current)?;
    if p.active == Some(false) {
        refuse_if_in_use(&mut tx, id).await?;
    }
    sqlx::query(
        "UPDATE stations SET
            parent_id = CASE WHEN $2 THEN $3 ELSE parent_id END,
            level = coalesce($4, level), code = coalesce($5, code), name = coalesce($6, name),
            location = coalesce(ST_GeomFromWKB($7, 4326), location),
            service_area = CASE WHEN $8 THEN ST_GeomFromWKB($9, 4326) ELSE service_area END,
            active = coalesce($10, active),
            version = version + 1, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(p.parent_id.is_some())
    .bind(p.parent_id.flatten())
    .bind(p.level)
    .bind(code)
    .bind(name)
    .bind(location.map(|l| geo_input::to_wkb(&l.into())))
    .bind(area.is_some())
    .bind(area.flatten())
    .bind(p.active)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "update", "station", id, serde_json::json!({})).await?;
    tx.commit().await?;
    fetch(&state, id, p.crs).await.map(Json)
}

/// Refuse a stale update: the client edited a version someone else has changed.
pub fn check_version(sent: Option<i64>, current: i64) -> ApiResult<()> {
    match sent {
        Some(v) if v != current => Err(ApiError::Conflict {
            code: "version_conflict",
            message: format!("the record changed since you read it (your version {v}, now {current}); reload and try again"),
            field: Some("version".into()),
        }),
        _ => Ok(()),
    }
}

/// Deactivate a station (planners). It stays in the records; a station that
/// still has active people, places or sub-stations cannot be deactivated.
#[utoipa::path(delete, path = "/v1/stations/{id}", tag = "stations", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Station), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn deactivate(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Station>> {
    caller.require(Permission::EditStations)?;
    let mut tx = state.db.begin().await?;
    let found: Option<bool> = sqlx::query_scalar("SELECT active FROM stations WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    found.ok_or(ApiError::NotFound("station"))?;
    refuse_if_in_use(&mut tx, id).await?;
    sqlx::query("UPDATE stations SET active = false, version = version + 1, updated_at = now() WHERE id = $1 AND active")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, caller.person_id, "deactivate", "station", id, serde_json::json!({})).await?;
    tx.commit().await?;
    fetch(&state, id, Crs::Wgs84).await.map(Json)
}

/// A station that still has active people, places or sub-stations stays active.
async fn refuse_if_in_use(tx: &mut sqlx::PgConnection, id: Uuid) -> ApiResult<()> {
    let in_use: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM people WHERE station_id = $1 AND active)
             OR EXISTS (SELECT FROM places WHERE station_id = $1 AND active)
             OR EXISTS (SELECT FROM stations WHERE parent_id = $1 AND active)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if in_use {
        return Err(ApiError::Conflict {
            code: "station_in_use",
            message: "move or deactivate this station's people, places and sub-stations first".into(),
            field: None,
        });
    }
    Ok(())
}
