//! `/v1/places`: grid cells, enterprises and project sites, in and out as
//! GeoJSON Features. Planners edit; others read within their scope. The
//! places and their rules are the domain's ([`fieldvisit_sync::places`]);
//! here the Features and coordinate systems of HTTP.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::command;
use fieldvisit_sync::places::{self, Place, PlaceKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::{self, OutputCrs, double_option};
use crate::input::{Body, Paging, Path, Query, optional_text, text};

/// A place as a GeoJSON Feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceFeature {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind_of_object: &'static str,
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub geometry: Value,
    pub properties: PlaceProperties,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceProperties {
    pub kind: PlaceKind,
    pub name: String,
    pub address: Option<String>,
    pub station_id: Uuid,
    pub source: String,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of places as a GeoJSON FeatureCollection.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceCollection {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind_of_object: &'static str,
    pub features: Vec<PlaceFeature>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<Uuid>,
}

/// A stored place as a Feature with coordinates in `crs`.
fn feature(p: Place, crs: Crs) -> ApiResult<PlaceFeature> {
    Ok(PlaceFeature {
        kind_of_object: "Feature",
        id: p.id,
        geometry: geo_input::geometry_out(&p.geom, crs)?,
        properties: PlaceProperties {
            kind: p.kind,
            name: p.name,
            address: p.address,
            station_id: p.station_id,
            source: p.source,
            external_id: p.external_id,
            attributes: p.attributes,
            active: p.active,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        },
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PlaceFilter {
    pub kind: Option<PlaceKind>,
    pub station_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name or address.
    pub q: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    /// `minLon,minLat,maxLon,maxLat` in `crs`: places that touch this box.
    pub bbox: Option<String>,
    /// The system of `bbox` and of the answer's coordinates.
    #[serde(default)]
    pub crs: Crs,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

fn parse_bbox(v: &str, crs: Crs) -> ApiResult<[f64; 4]> {
    let bad = || ApiError::Invalid {
        code: "invalid_parameter",
        message: "bbox must be minLon,minLat,maxLon,maxLat with min < max".into(),
        field: Some("bbox".into()),
    };
    let n: Vec<f64> = v.split(',').map(|s| s.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let [x0, y0, x1, y1] = n[..] else { return Err(bad()) };
    let lo = geo_input::point_in("bbox", geo_input::Position { lon: x0, lat: y0 }, crs)?;
    let hi = geo_input::point_in("bbox", geo_input::Position { lon: x1, lat: y1 }, crs)?;
    if lo.x() >= hi.x() || lo.y() >= hi.y() {
        return Err(bad());
    }
    Ok([lo.x(), lo.y(), hi.x(), hi.y()])
}

/// List places within the caller's scope, as a FeatureCollection.
#[utoipa::path(get, path = "/v1/places", tag = "places", params(PlaceFilter), security(("bearer" = [])),
    responses((status = 200, body = PlaceCollection), (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<PlaceFilter>,
) -> ApiResult<Json<PlaceCollection>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let bbox = f.bbox.as_deref().map(|b| parse_bbox(b, f.crs)).transpose()?;
    let scope = caller.scope(&state.db, Resource::Places).await?;
    let filter = places::Filter {
        kind: f.kind,
        station_id: f.station_id,
        active: f.active,
        q: f.q,
        source: f.source,
        external_id: f.external_id,
        bbox,
        after: f.after,
    };
    let rows = places::list(&state.db, &scope, &filter, limit + 1).await?;
    let items = rows.into_iter().map(|p| feature(p, f.crs)).collect::<ApiResult<Vec<_>>>()?;
    let page = super::Page::from_rows(items, limit, |p| p.id);
    Ok(Json(PlaceCollection { kind_of_object: "FeatureCollection", features: page.items, next_after: page.next_after }))
}

/// One place, if within the caller's scope.
#[utoipa::path(get, path = "/v1/places/{id}", tag = "places", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = PlaceFeature), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(o): Query<OutputCrs>,
) -> ApiResult<Json<PlaceFeature>> {
    let scope = caller.scope(&state.db, Resource::Places).await?;
    feature(places::get(&state.db, &scope, id).await?, o.crs).map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
enum FeatureTag {
    Feature,
}

/// A new place as a GeoJSON Feature; `crs` names the system of its coordinates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlace {
    #[serde(rename = "type")]
    #[allow(dead_code, reason = "checked by deserialisation")]
    kind_of_object: FeatureTag,
    /// Client-made id; the server makes one when absent.
    pub id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub geometry: Value,
    pub properties: NewPlaceProperties,
    /// GeoJSON's optional bounding box; ignored (the server computes its own).
    #[schema(value_type = Option<Vec<f64>>)]
    #[allow(dead_code, reason = "accepted for GeoJSON compatibility")]
    bbox: Option<Value>,
    #[serde(default)]
    pub crs: Crs,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaceProperties {
    pub kind: PlaceKind,
    pub name: String,
    pub address: Option<String>,
    pub station_id: Uuid,
    /// Where the record comes from (default `manual`); `external_id` is unique per source.
    pub source: Option<String>,
    pub external_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
}

/// Create a place (planners).
#[utoipa::path(post, path = "/v1/places", tag = "places", request_body = NewPlace, security(("bearer" = [])),
    responses((status = 201, body = PlaceFeature), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a geometry of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(p): Body<NewPlace>,
) -> ApiResult<(StatusCode, Json<PlaceFeature>)> {
    caller.require(Permission::EditPlaces)?;
    let props = p.properties;
    let create = places::Create {
        id: p.id.unwrap_or_else(Uuid::now_v7),
        kind: props.kind,
        name: text("properties.name", &props.name, 200)?,
        address: optional_text("properties.address", props.address.as_deref(), 500)?,
        source: optional_text("properties.source", props.source.as_deref(), 100)?,
        external_id: optional_text("properties.external_id", props.external_id.as_deref(), 200)?,
        attributes: props.attributes,
        geometry: geo_input::geometry_in("geometry", p.geometry, p.crs).await?,
        station_id: props.station_id,
    };
    let place = command::execute(&state.db, caller.person_id, create).await?;
    Ok((StatusCode::CREATED, Json(feature(place, p.crs)?)))
}

/// A change to a place: any of `geometry` and the `properties`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacePatch {
    #[serde(rename = "type")]
    #[allow(dead_code, reason = "checked by deserialisation")]
    kind_of_object: Option<FeatureTag>,
    /// When given, the change applies only if the place is still at this version.
    pub version: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
    #[serde(default)]
    pub properties: PlacePatchProperties,
    #[serde(default)]
    pub crs: Crs,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacePatchProperties {
    pub kind: Option<PlaceKind>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub address: Option<Option<String>>,
    pub station_id: Option<Uuid>,
    pub source: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub external_id: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    pub active: Option<bool>,
}

/// Change a place (planners). Only what is sent changes.
#[utoipa::path(patch, path = "/v1/places/{id}", tag = "places", params(("id" = Uuid, Path)), request_body = PlacePatch, security(("bearer" = [])),
    responses((status = 200, body = PlaceFeature), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a geometry of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(p): Body<PlacePatch>,
) -> ApiResult<Json<PlaceFeature>> {
    caller.require(Permission::EditPlaces)?;
    let props = p.properties;
    let update = places::Update {
        id,
        version: p.version,
        kind: props.kind,
        name: props.name.as_deref().map(|n| text("properties.name", n, 200)).transpose()?,
        address: props.address.map(|a| optional_text("properties.address", a.as_deref(), 500)).transpose()?,
        station_id: props.station_id,
        source: props.source.as_deref().map(|s| text("properties.source", s, 100)).transpose()?,
        external_id: props
            .external_id
            .map(|e| optional_text("properties.external_id", e.as_deref(), 200))
            .transpose()?,
        attributes: props.attributes,
        active: props.active,
        geometry: match p.geometry {
            Some(g) => Some(geo_input::geometry_in("geometry", g, p.crs).await?),
            None => None,
        },
    };
    let place = command::execute(&state.db, caller.person_id, update).await?;
    feature(place, p.crs).map(Json)
}

/// Deactivate a place (planners): it stays in the records, and its open
/// assignments end today (Asia/Shanghai).
#[utoipa::path(delete, path = "/v1/places/{id}", tag = "places", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PlaceFeature), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<PlaceFeature>> {
    caller.require(Permission::EditPlaces)?;
    let place = command::execute(&state.db, caller.person_id, places::Deactivate { id }).await?;
    feature(place, Crs::Wgs84).map(Json)
}
