//! `/v1/places`: grid cells, enterprises and project sites, in and out as
//! GeoJSON Features. Planners edit; others read within their scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fieldvisit_geodata::crs::Crs;
use geo::Geometry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::stations::check_version;
use crate::app::AppState;
use crate::audit;
use crate::auth::{Caller, Permission, Resource, Scope};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::{self, OutputCrs, double_option};
use crate::input::{Body, Path, Paging, Query, optional_text, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "place_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    GridCell,
    Enterprise,
    ProjectSite,
}

/// Largest `attributes` object accepted, serialised, in bytes.
const ATTRIBUTES_MAX_BYTES: usize = 8 * 1024;

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

#[derive(Debug, sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    kind: PlaceKind,
    name: String,
    address: Option<String>,
    geom: Vec<u8>,
    station_id: Uuid,
    source: String,
    external_id: Option<String>,
    attributes: Value,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, kind, name, address, ST_AsBinary(geom) AS geom, station_id, source, external_id,
    attributes, active, version, created_at, updated_at FROM places";

impl PlaceRow {
    fn into_api(self, crs: Crs) -> ApiResult<PlaceFeature> {
        Ok(PlaceFeature {
            kind_of_object: "Feature",
            id: self.id,
            geometry: geo_input::geometry_out(&self.geom, crs)?,
            properties: PlaceProperties {
                kind: self.kind,
                name: self.name,
                address: self.address,
                station_id: self.station_id,
                source: self.source,
                external_id: self.external_id,
                attributes: self.attributes,
                active: self.active,
                version: self.version,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
        })
    }
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
pub async fn list(State(state): State<AppState>, caller: Caller, Query(f): Query<PlaceFilter>) -> ApiResult<Json<PlaceCollection>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let bbox = f.bbox.as_deref().map(|b| parse_bbox(b, f.crs)).transpose()?;
    let scope = caller.scope(&state.db, Resource::Places).await?;
    let rows: Vec<PlaceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE ($1::uuid[] IS NULL OR station_id = ANY($1))
           AND ($2::place_kind IS NULL OR kind = $2) AND ($3::uuid IS NULL OR station_id = $3)
           AND ($4::bool IS NULL OR active = $4)
           AND ($5::text IS NULL OR name ILIKE '%' || $5 || '%' OR address ILIKE '%' || $5 || '%')
           AND ($6::text IS NULL OR source = $6) AND ($7::text IS NULL OR external_id = $7)
           AND ($8::float8[] IS NULL OR geom && ST_MakeEnvelope($8[1], $8[2], $8[3], $8[4], 4326))
           AND ($9::uuid IS NULL OR id > $9)
         ORDER BY id LIMIT $10"
    )))
    .bind(scope.stations)
    .bind(f.kind)
    .bind(f.station_id)
    .bind(f.active)
    .bind(f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
    .bind(f.source)
    .bind(f.external_id)
    .bind(bbox.map(Vec::from))
    .bind(f.after)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let items = rows.into_iter().map(|r| r.into_api(f.crs)).collect::<ApiResult<Vec<_>>>()?;
    let page = super::Page::from_rows(items, limit, |p| p.id);
    Ok(Json(PlaceCollection { kind_of_object: "FeatureCollection", features: page.items, next_after: page.next_after }))
}

async fn fetch(state: &AppState, scope: &Scope, id: Uuid, crs: Crs) -> ApiResult<PlaceFeature> {
    let row: Option<PlaceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE ($1::uuid[] IS NULL OR station_id = ANY($1)) AND id = $2")))
        .bind(&scope.stations)
        .bind(id)
        .fetch_optional(&state.db)
        .await?;
    row.ok_or(ApiError::NotFound("place"))?.into_api(crs)
}

/// One place, if within the caller's scope.
#[utoipa::path(get, path = "/v1/places/{id}", tag = "places", params(("id" = Uuid, Path), OutputCrs), security(("bearer" = [])),
    responses((status = 200, body = PlaceFeature), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(o): Query<OutputCrs>) -> ApiResult<Json<PlaceFeature>> {
    let scope = caller.scope(&state.db, Resource::Places).await?;
    fetch(&state, &scope, id, o.crs).await.map(Json)
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

fn shape_for_kind(kind: PlaceKind, g: &Geometry<f64>) -> ApiResult<()> {
    let ok = match g {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => true,
        Geometry::Point(_) => kind != PlaceKind::GridCell,
        _ => false,
    };
    if ok {
        Ok(())
    } else if kind == PlaceKind::GridCell {
        Err(ApiError::invalid("geometry", "a grid cell must be a Polygon or MultiPolygon"))
    } else {
        Err(ApiError::invalid("geometry", "an enterprise or project site must be a Point, Polygon or MultiPolygon"))
    }
}

fn attributes(v: Option<Value>) -> ApiResult<Value> {
    match v {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) => {
            if v.to_string().len() > ATTRIBUTES_MAX_BYTES {
                Err(ApiError::invalid("properties.attributes", format!("attributes must be at most {ATTRIBUTES_MAX_BYTES} bytes")))
            } else {
                Ok(v)
            }
        }
        Some(_) => Err(ApiError::invalid("properties.attributes", "attributes must be a JSON object")),
    }
}

/// Create a place (planners).
#[utoipa::path(post, path = "/v1/places", tag = "places", request_body = NewPlace, security(("bearer" = [])),
    responses((status = 201, body = PlaceFeature), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, description = "a broken rule (validation_failed), or a geometry of more than 100,000 positions (too_many_vertices)", body = super::ErrorBody)))]
pub async fn create(State(state): State<AppState>, caller: Caller, Body(p): Body<NewPlace>) -> ApiResult<(StatusCode, Json<PlaceFeature>)> {
    caller.require(Permission::EditPlaces)?;
    let props = p.properties;
    let id = p.id.unwrap_or_else(Uuid::now_v7);
    let name = text("properties.name", &props.name, 200)?;
    let address = optional_text("properties.address", props.address.as_deref(), 500)?;
    let source = optional_text("properties.source", props.source.as_deref(), 100)?.unwrap_or_else(|| "manual".into());
    let external_id = optional_text("properties.external_id", props.external_id.as_deref(), 200)?;
    let attrs = attributes(props.attributes)?;
    let geom = geo_input::geometry_in("geometry", p.geometry, p.crs).await?;
    shape_for_kind(props.kind, &geom)?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO places (id, kind, name, address, geom, station_id, source, external_id, attributes)
         VALUES ($1, $2, $3, $4, ST_GeomFromWKB($5, 4326), $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(props.kind)
    .bind(&name)
    .bind(address)
    .bind(geo_input::to_wkb(&geom))
    .bind(props.station_id)
    .bind(source)
    .bind(external_id)
    .bind(attrs)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, caller.person_id, "create", "place", id, json!({ "name": name })).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(fetch(&state, &Scope::default(), id, p.crs).await?)))
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
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Body(p): Body<PlacePatch>) -> ApiResult<Json<PlaceFeature>> {
    caller.require(Permission::EditPlaces)?;
    let props = p.properties;
    let name = props.name.as_deref().map(|n| text("properties.name", n, 200)).transpose()?;
    let address = props.address.map(|a| optional_text("properties.address", a.as_deref(), 500)).transpose()?;
    let source = props.source.as_deref().map(|s| text("properties.source", s, 100)).transpose()?;
    let external_id = props.external_id.map(|e| optional_text("properties.external_id", e.as_deref(), 200)).transpose()?;
    let attrs = props.attributes.map(|a| attributes(Some(a))).transpose()?;
    let geom = match p.geometry {
        Some(g) => Some(geo_input::geometry_in("geometry", g, p.crs).await?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let current: Option<(i64, PlaceKind, Vec<u8>)> =
        sqlx::query_as("SELECT version, kind, ST_AsBinary(geom) FROM places WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    let (version, kind, stored) = current.ok_or(ApiError::NotFound("place"))?;
    check_version(p.version, version)?;
    // The kind and the shape are checked together, whichever of them changes.
    let kind = props.kind.unwrap_or(kind);
    match &geom {
        Some(g) => shape_for_kind(kind, g)?,
        None => shape_for_kind(kind, &fieldvisit_geodata::wkb::from_wkb(&stored).map_err(|e| ApiError::Internal(e.into()))?)?,
    }
    sqlx::query(
        "UPDATE places SET
            kind = $2, name = coalesce($3, name),
            address = CASE WHEN $4 THEN $5 ELSE address END,
            geom = coalesce(ST_GeomFromWKB($6, 4326), geom),
            station_id = coalesce($7, station_id), source = coalesce($8, source),
            external_id = CASE WHEN $9 THEN $10 ELSE external_id END,
            attributes = coalesce($11, attributes), active = coalesce($12, active),
            version = version + 1, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(kind)
    .bind(name)
    .bind(address.is_some())
    .bind(address.flatten())
    .bind(geom.as_ref().map(geo_input::to_wkb))
    .bind(props.station_id)
    .bind(source)
    .bind(external_id.is_some())
    .bind(external_id.flatten())
    .bind(attrs)
    .bind(props.active)
    .execute(&mut *tx)
    .await?;
    if props.active == Some(false) {
        fieldvisit_sync::assignments::end_open(&mut tx, fieldvisit_sync::assignments::Ending::Place(id)).await?;
    }
    audit::record(&mut tx, caller.person_id, "update", "place", id, json!({ "geometry_changed": geom.is_some() })).await?;
    tx.commit().await?;
    fetch(&state, &Scope::default(), id, p.crs).await.map(Json)
}

/// Deactivate a place (planners): it stays in the records, and its open
/// assignments end today (Asia/Shanghai).
#[utoipa::path(delete, path = "/v1/places/{id}", tag = "places", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PlaceFeature), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn deactivate(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<PlaceFeature>> {
    caller.require(Permission::EditPlaces)?;
    let mut tx = state.db.begin().await?;
    let found: Option<bool> = sqlx::query_scalar("SELECT active FROM places WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *tx).await?;
    if found.ok_or(ApiError::NotFound("place"))? {
        sqlx::query("UPDATE places SET active = false, version = version + 1, updated_at = now() WHERE id = $1").bind(id).execute(&mut *tx).await?;
        fieldvisit_sync::assignments::end_open(&mut tx, fieldvisit_sync::assignments::Ending::Place(id)).await?;
        audit::record(&mut tx, caller.person_id, "deactivate", "place", id, json!({})).await?;
    }
    tx.commit().await?;
    fetch(&state, &Scope::default(), id, Crs::Wgs84).await.map(Json)
}

