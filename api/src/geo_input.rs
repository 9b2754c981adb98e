//! Coordinates at the HTTP edge: every coordinate input names its system
//! (`crs`: wgs84, gcj02, bd09), is range-checked as sent, and is converted to
//! the WGS84 the database stores; outputs can be converted back for display
//! on Chinese web maps.

use fieldvisit_geodata::crs::Crs;
use fieldvisit_geodata::{GeoError, geojson_io, round7, validate, wkb};
use geo::{Coord, Geometry, Point};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A point as `{lon, lat}` in the coordinate system named by the body's `crs`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub lon: f64,
    pub lat: f64,
}

fn invalid(field: &str, e: &GeoError) -> ApiError {
    ApiError::invalid(field, format!("{field}: {e}"))
}

/// A position as sent, checked and converted to WGS84.
pub fn point_in(field: &str, p: Position, crs: Crs) -> Result<Point<f64>, ApiError> {
    let g = Geometry::Point(Point::new(p.lon, p.lat));
    validate::check_coordinates(&g).map_err(|e| invalid(field, &e))?;
    let converted = Point::from(crs.to_wgs84(Coord { x: p.lon, y: p.lat }));
    // A conversion near the edge of the range can leave it (BD-09 at -180°).
    validate::check_coordinates(&Geometry::Point(converted)).map_err(|e| invalid(field, &e))?;
    Ok(converted)
}

/// A GeoJSON geometry as sent, checked (size, ranges, validity) and converted to WGS84.
///
/// On a blocking thread: a surveyed boundary of tens of thousands of vertices takes a
/// noticeable time to check (0.5 s for 45,000 in a debug build), and the async workers must
/// go on answering everyone else meanwhile. More than [`validate::MAX_VERTICES`] positions is
/// a 422 `too_many_vertices`, before any other check.
pub async fn geometry_in(field: &'static str, v: serde_json::Value, crs: Crs) -> Result<Geometry<f64>, ApiError> {
    tokio::task::spawn_blocking(move || geometry_in_now(field, &v, crs))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
}

fn geometry_in_now(field: &str, v: &serde_json::Value, crs: Crs) -> Result<Geometry<f64>, ApiError> {
    let mut g = geojson_io::geometry_from_geojson(v).map_err(|e| invalid(field, &e))?;
    validate::check_size(&g).map_err(|e| match e {
        GeoError::TooManyVertices { .. } => ApiError::Invalid {
            code: "too_many_vertices",
            message: format!("{field}: {e}"),
            field: Some(field.to_owned()),
        },
        other => invalid(field, &other),
    })?;
    validate::check_coordinates(&g).map_err(|e| invalid(field, &e))?;
    crs.geometry_to_wgs84(&mut g);
    validate::check_coordinates(&g).map_err(|e| invalid(field, &e))?;
    validate::check_valid(&g).map_err(|e| invalid(field, &e))?;
    Ok(g)
}

/// A stored WGS84 point, for output in `crs`.
pub fn point_out(wkb_bytes: &[u8], crs: Crs) -> Result<Position, ApiError> {
    match geometry_out_raw(wkb_bytes, crs)? {
        Geometry::Point(p) => Ok(Position { lon: round7(p.x()), lat: round7(p.y()) }),
        _ => Err(ApiError::Internal(anyhow::anyhow!("stored point is not a point"))),
    }
}

/// A stored WGS84 geometry, as GeoJSON in `crs`.
pub fn geometry_out(wkb_bytes: &[u8], crs: Crs) -> Result<serde_json::Value, ApiError> {
    geometry_out_raw(wkb_bytes, crs).map(|g| geojson_io::geometry_to_geojson(&g))
}

fn geometry_out_raw(wkb_bytes: &[u8], crs: Crs) -> Result<Geometry<f64>, ApiError> {
    let mut g = wkb::from_wkb(wkb_bytes).map_err(|e| ApiError::Internal(e.into()))?;
    crs.geometry_from_wgs84(&mut g);
    Ok(g)
}

pub fn to_wkb(g: &Geometry<f64>) -> Vec<u8> {
    wkb::to_wkb(g)
}

/// `?crs=` on reads: the system the answer's coordinates are given in.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
pub struct OutputCrs {
    /// wgs84 (default), gcj02 or bd09.
    #[serde(default)]
    pub crs: Crs,
}

/// For PATCH bodies: tells "absent" (keep) from `null` (clear).
pub fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
