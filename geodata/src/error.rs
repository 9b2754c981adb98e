//! The one error type of the geodata crate. Every message is meant to reach a person (through
//! the API's 4xx body), so each says where the problem is and what is expected instead.

use thiserror::Error;

/// Why a geometry could not be read or was refused.
///
/// Locations use the GeoJSON member path of the offending part, e.g. `coordinates[0][3]`,
/// so a client can find it in what it sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GeoError {
    /// The JSON is not a GeoJSON geometry object we can read: unknown `type`, missing or
    /// wrongly nested `coordinates`, a position that is not `[lon, lat]`.
    #[error("invalid GeoJSON geometry: {0}")]
    GeoJson(String),

    /// The bytes are not well-known binary we can decode (truncated, unknown type code, or an
    /// empty point, which geo types cannot represent).
    #[error("invalid WKB: {0}")]
    Wkb(String),

    /// A coordinate is not a finite longitude/latitude in range.
    #[error("{location}: {reason}")]
    Coordinate {
        /// Path of the coordinate, e.g. `coordinates[0][3]`.
        location: String,
        /// What is wrong with it, with the offending value.
        reason: String,
    },

    /// The geometry, or one of its parts, has no coordinates at all.
    #[error("{0} is empty")]
    Empty(String),

    /// The geometry has more positions than the server validates and stores
    /// ([`crate::validate::MAX_VERTICES`]); simplify it or split it into parts.
    #[error("the geometry has {count} positions; at most {max} are accepted (simplify the boundary or split it)")]
    TooManyVertices { count: usize, max: usize },

    /// A ring whose edges overlap one another's extent so often (long spikes radiating from
    /// one spot) that checking it would take quadratic time; no surveyed boundary looks so.
    #[error("{0} is too intricate to check (its edges cross one another's extent too often); simplify it")]
    TooIntricate(String),

    /// The geometry breaks a structural rule (ring not closed, too few positions,
    /// self-intersection, hole outside its shell, overlapping parts …).
    #[error("invalid geometry: {0}")]
    Invalid(String),
}
