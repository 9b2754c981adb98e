//! `/v1/stations`: the liaison-station tree. Everybody reads it; planners
//! edit it. The tree and its rules are the domain's
//! ([`fieldvisit_sync::stations`]); here the coordinate systems of HTTP.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::command;
use fieldvisit_sync::stations::{self, StationLevel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiResult;
use crate::geo_input::{self, OutputCrs, Position, double_option};
use crate::input::{Body, Paging, Path, Query, text};

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

/// A stored station with coordinates in `crs`.
fn station(s: stations::Station, crs: Crs) -> ApiResult<Station> {
    Ok(Station {
        id: s.id,
        parent_id: s.parent_id,
        level: s.level,
        code: s.code,
        name: s.name,
        location: geo_input::point_out(&s.location, crs)?,
        service_area: s.service_area.as_deref().map(|w| geo_input::geometry_out(w, crs)).transpose()?,
        active: s.active,
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
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
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(f): Query<StationFilter>,
) -> ApiResult<Json<Page<Station>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let filter = stations::Filter { level: f.level, parent_id: f.parent_id, active: f.active, q: f.q, after: f.after };
    let rows = stations::list(&state.db, &filter, limit + 1).await?;
    let items = rows.into_iter().map(|s| station(s, f.crs)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(Page::from_rows(items, limit, |s| s.id)))
}

/// One station.
#[utoipa::path(get, path = "/v1/stations/{id}", tag = "stations", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = Station), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<Uuid>,
    Query(o): Query<OutputCrs>,
) -> ApiResult<Json<Station>> {
    station(stations::get(&state.db, id).await?, o.crs).map(Json)
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

/// A service area as sent (absent or null: none), checked and converted to WGS84.
async fn service_area(v: Option<serde_json::Value>, crs: Crs) -> ApiResult<Option<geo::Geometry<f64>>> {
    match v.filter(|v| !v.is_null()) {
        Some(v) => Ok(Some(geo_input::geometry_in("service_area", v, crs).await?)),
        None => Ok(None),
    }
}

/// Create a station (planners).
#[utoipa::path(post, path = "/v1/stations", tag = "stations", request_body = NewStation, security(("bearer" = [])),
    responses((status = 201, body = Station), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a service_area of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(s): Body<NewStation>,
) -> ApiResult<(StatusCode, Json<Station>)> {
    caller.require(Permission::EditStations)?;
    let create = stations::Create {
        id: s.id.unwrap_or_else(Uuid::now_v7),
        parent_id: s.parent_id,
        level: s.level,
        name: text("name", &s.name, 200)?,
        code: text("code", &s.code, 64)?,
        location: geo_input::point_in("location", s.location, s.crs)?,
        service_area: service_area(s.service_area, s.crs).await?,
    };
    let created = command::execute(&state.db, caller.person_id, create).await?;
    Ok((StatusCode::CREATED, Json(station(created, s.crs)?)))
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
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(p): Body<StationPatch>,
) -> ApiResult<Json<Station>> {
    caller.require(Permission::EditStations)?;
    let update = stations::Update {
        id,
        version: p.version,
        parent_id: p.parent_id,
        level: p.level,
        name: p.name.as_deref().map(|n| text("name", n, 200)).transpose()?,
        code: p.code.as_deref().map(|c| text("code", c, 64)).transpose()?,
        location: p.location.map(|l| geo_input::point_in("location", l, p.crs)).transpose()?,
        service_area: match p.service_area {
            Some(a) => Some(service_area(a, p.crs).await?),
            None => None,
        },
        active: p.active,
    };
    let updated = command::execute(&state.db, caller.person_id, update).await?;
    station(updated, p.crs).map(Json)
}

/// Deactivate a station (planners). It stays in the records; a station that
/// still has active people, places or sub-stations cannot be deactivated.
#[utoipa::path(delete, path = "/v1/stations/{id}", tag = "stations", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Station), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Station>> {
    caller.require(Permission::EditStations)?;
    let deactivated = command::execute(&state.db, caller.person_id, stations::Deactivate { id }).await?;
    station(deactivated, Crs::Wgs84).map(Json)
}
