//! `/v1/coverage`, `/v1/coverage/trend` and `/v1/tiles/coverage/{z}/{x}/{y}.mvt`: the
//! visit-coverage map's data, within the caller's reach of places (a representative
//! sees their station, station staff their subtree, the desk the township).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::coverage::{
    self, CoverageStatus, CoverageTotals, Filter, StationCoverage, StationTrend, TileAddress,
};
use fieldvisit_sync::places::PlaceKind;
use fieldvisit_sync::{Scope, SyncError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::visits::month_param;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource};
use crate::error::{ApiError, ApiResult};
use crate::geo_input;
use crate::input::{Path, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    /// This station and the stations under it (within the caller's reach).
    pub station_id: Option<Uuid>,
    pub kind: Option<PlaceKind>,
    /// wgs84 (default), gcj02 (AMap-based clients) or bd09.
    #[serde(default)]
    pub crs: Crs,
}

/// Someone assigned to the place during the month.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignedPerson {
    pub person_id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageProperties {
    pub name: String,
    pub kind: PlaceKind,
    pub station_id: Uuid,
    pub station_name: String,
    pub status: CoverageStatus,
    /// Visits that counted in the month, by the representatives assigned then.
    pub visits: i64,
    /// The latest visit that counted there, by anyone, up to the end of the month.
    pub last_visit_at: Option<DateTime<Utc>>,
    pub assigned: Vec<AssignedPerson>,
    /// Issues about the place still open in the ledger.
    pub open_issues: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageFeature {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: Uuid,
    /// GeoJSON geometry in the requested `crs`.
    #[schema(value_type = Object)]
    pub geometry: Value,
    pub properties: CoverageProperties,
}

/// A GeoJSON FeatureCollection of the places with their month's status, with the
/// totals (overall and per station) beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageCollection {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `YYYY-MM`.
    pub month: String,
    /// The month is over in Asia/Shanghai: what was not visited is overdue.
    pub closed: bool,
    pub totals: CoverageTotals,
    pub stations: Vec<StationCoverage>,
    pub features: Vec<CoverageFeature>,
}

/// The caller's reach of places, narrowed to `station_id`'s subtree when given: a
/// station outside the reach is not found (404), as if it did not exist.
async fn reach(state: &AppState, caller: &Caller, station_id: Option<Uuid>) -> ApiResult<(Scope, Option<Vec<Uuid>>)> {
    let scope = caller.scope(&state.db, Resource::Places).await?;
    let Some(station) = station_id else { return Ok((scope, None)) };
    if scope.stations.as_ref().is_some_and(|s| !s.contains(&station)) {
        return Err(SyncError::NotFound("station").into());
    }
    let subtree = fieldvisit_sync::scope::station_subtree(&state.db, station).await?;
    if subtree.is_empty() {
        return Err(SyncError::NotFound("station").into());
    }
    Ok((scope, Some(subtree)))
}

/// The month's coverage: each place's status (`visited`, `due`, `overdue`,
/// `unassigned`), visits, last visit, assigned representatives and open issues, with
/// the coverage rate overall and per station.
#[utoipa::path(get, path = "/v1/coverage", operation_id = "coverage", tag = "coverage", params(CoverageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = CoverageCollection), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<CoverageQuery>,
) -> ApiResult<Json<CoverageCollection>> {
    let month = month_param(q.month.as_deref())?;
    let (scope, stations) = reach(&state, &caller, q.station_id).await?;
    let c = coverage::coverage(&state.db, &scope, &Filter { month, stations, kind: q.kind }).await?;
    let features = c
        .places
        .into_iter()
        .map(|p| {
            let assigned: Vec<AssignedPerson> =
                serde_json::from_value(p.assigned).map_err(|e| ApiError::Internal(e.into()))?;
            Ok(CoverageFeature {
                kind: "Feature",
                id: p.id,
                geometry: geo_input::geometry_out(&p.geom, q.crs)?,
                properties: CoverageProperties {
                    name: p.name,
                    kind: p.kind,
                    station_id: p.station_id,
                    station_name: p.station_name,
                    status: p.status,
                    visits: p.visits,
                    last_visit_at: p.last_visit_at,
                    assigned,
                    open_issues: p.open_issues,
                },
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(CoverageCollection {
        kind: "FeatureCollection",
        month: c.month.to_string(),
        closed: c.closed,
        totals: c.totals,
        stations: c.stations,
        features,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// How many months, up to and including `month` (1 to 36; default 12).
    #[param(minimum = 1, maximum = 36)]
    pub months: Option<u32>,
    /// The last month, `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    pub station_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageTrend {
    /// Per station, its months oldest first.
    pub stations: Vec<StationTrend>,
}

/// The coverage rate per station for each of the last months.
#[utoipa::path(get, path = "/v1/coverage/trend", operation_id = "coverage_trend", tag = "coverage", params(TrendQuery),
    security(("bearer" = [])),
    responses((status = 200, body = CoverageTrend), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)))]
pub async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<TrendQuery>,
) -> ApiResult<Json<CoverageTrend>> {
    let month = month_param(q.month.as_deref())?;
    let (scope, stations) = reach(&state, &caller, q.station_id).await?;
    let stations = coverage::trend(&state.db, &scope, stations.as_ref(), q.months.unwrap_or(12), month).await?;
    Ok(Json(CoverageTrend { stations }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TileQuery {
    /// `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// Where axum routes the tiles: `{y}` holds `412.mvt` (its router takes one parameter
/// per segment and no suffix); the document says `{y}.mvt`.
pub const TILE_ROUTE: &str = "/v1/tiles/coverage/{z}/{x}/{y}";

/// The media type of Mapbox Vector Tiles.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";

/// One coverage tile (Mapbox Vector Tile): layers `places` (id, name, kind, status,
/// visits, open_issues, station_id), `stations` (id, name, level; the service areas)
/// and, for planners, `assignments` (anchor → place lines). A strong `ETag` (the
/// bytes' SHA-256); `If-None-Match` answers 304; a tile with nothing in it, 204.
#[utoipa::path(get, path = "/v1/tiles/coverage/{z}/{x}/{y}.mvt", operation_id = "coverage_tile", tag = "coverage",
    params(("z" = u32, Path, maximum = 22), ("x" = u32, Path), ("y" = u32, Path), TileQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "Nothing in this tile"), (status = 304, description = "Unchanged since the ETag sent"),
        (status = 400, body = super::ErrorBody)))]
pub async fn tile(
    State(state): State<AppState>,
    caller: Caller,
    Path((z, x, y)): Path<(u32, u32, String)>,
    Query(q): Query<TileQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| SyncError::BadParameter { field: "y", message: "a tile's address ends in .mvt".into() })?
        .parse::<u32>()
        .map_err(|_| SyncError::BadParameter { field: "y", message: "y must be a whole number".into() })?;
    let at = TileAddress::new(z, x, y)?;
    let month = month_param(q.month.as_deref())?;
    let scope = caller.scope(&state.db, Resource::Places).await?;
    let lines = caller.may(Permission::EditAssignments);
    let bytes = coverage::tile(&state.db, &scope, at, month, lines).await?;
    let private = HeaderValue::from_static("private, no-cache");
    if bytes.is_empty() {
        return Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, private)]).into_response());
    }
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.into()))?;
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, private)]).into_response());
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(MVT)), (header::ETAG, etag), (header::CACHE_CONTROL, private)],
        Body::from(bytes),
    )
        .into_response())
}
