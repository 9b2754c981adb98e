//! fieldvisit geography: coordinate systems used in China (WGS84, GCJ-02, BD-09), geometry
//! across the database boundary (WKB) and the API boundary (GeoJSON), validation of what
//! people send, and geodesic distances for judging check-ins.
//!
//! Everything here is pure computation on `geo` types; nothing knows about HTTP or SQL.

pub mod assign;
pub mod crs;
pub mod distance;
mod error;
pub mod geofence;
pub mod geojson_io;
pub mod validate;
pub mod wkb;

pub use error::GeoError;

/// A coordinate in degrees to seven decimals, about a centimetre: more is
/// noise. `+ 0.0` turns -0.0 into 0.0 so that output does not show "-0.0".
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7 + 0.0
}
