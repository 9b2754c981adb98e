//! Geometry across the database boundary. PostGIS speaks (E)WKB; sqlx hands us the bytes and
//! this module turns them into `geo` types and back. We write plain ISO WKB, little-endian,
//! 2D, without SRID: the column type carries SRID 4326, so `ST_GeomFromWKB($1, 4326)` on the
//! SQL side is the one place that states it.

use ::wkb::Endianness;
use ::wkb::reader::read_wkb;
use ::wkb::writer::{WriteOptions, write_geometry};
use geo::Geometry;
use geo_traits::to_geo::ToGeoGeometry;

use crate::GeoError;

/// Encode `g` as little-endian ISO WKB (2D).
pub fn to_wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(::wkb::writer::geometry_wkb_size(g));
    write_geometry(&mut out, g, &WriteOptions { endianness: Endianness::LittleEndian })
        // Writing into a Vec cannot fail on I/O; the only other error is a count above u32::MAX,
        // which no geometry that fits in memory here reaches.
        .expect("WKB encoding into memory does not fail");
    out
}

/// Decode WKB or PostGIS EWKB (either byte order; Z and M are dropped, an SRID is ignored).
pub fn from_wkb(bytes: &[u8]) -> Result<Geometry<f64>, GeoError> {
    let parsed = read_wkb(bytes).map_err(|e| GeoError::Wkb(e.to_string()))?;
    parsed
        .try_to_geometry()
        .ok_or_else(|| GeoError::Wkb("empty point (NaN coordinates) cannot be represented".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, point, polygon};

    fn round_trip(g: &Geometry<f64>) {
        let bytes = to_wkb(g);
        assert_eq!(bytes[0], 1, "little-endian marker");
        assert_eq!(&from_wkb(&bytes).unwrap(), g);
    }

    #[test]
    fn point_round_trips() {
        let g: Geometry<f64> = point!(x: 112.131_234_5, y: 35.151_234_5).into();
        let bytes = to_wkb(&g);
        // byte order + type (u32) + two f64
        assert_eq!(bytes.len(), 1 + 4 + 16);
        assert_eq!(&bytes[1..5], &1u32.to_le_bytes());
        round_trip(&g);
    }

    fn polygon_with_hole() -> geo::Polygon<f64> {
        polygon!(
            exterior: [
                (x: 112.10, y: 35.10),
                (x: 112.20, y: 35.10),
                (x: 112.20, y: 35.20),
                (x: 112.10, y: 35.20),
                (x: 112.10, y: 35.10),
            ],
            interiors: [[
                (x: 112.12, y: 35.12),
                (x: 112.12, y: 35.15),
                (x: 112.15, y: 35.15),
                (x: 112.12, y: 35.12),
            ]],
        )
    }

    #[test]
    fn polygon_with_hole_round_trips() {
        round_trip(&polygon_with_hole().into());
    }

    #[test]
    fn multipolygon_round_trips() {
        let second = polygon![
            (x: 112.30, y: 35.00),
            (x: 112.40, y: 35.00),
            (x: 112.35, y: 35.05),
            (x: 112.30, y: 35.00),
        ];
        round_trip(&MultiPolygon(vec![polygon_with_hole(), second]).into());
    }

    #[test]
    fn postgis_ewkb_with_srid_is_read() {
        // SELECT ST_AsEWKB('SRID=4326;POINT(112.1 35.1)'::geometry)
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&0x2000_0001u32.to_le_bytes());
        bytes.extend_from_slice(&4326u32.to_le_bytes());
        bytes.extend_from_slice(&112.1f64.to_le_bytes());
        bytes.extend_from_slice(&35.1f64.to_le_bytes());
        assert_eq!(from_wkb(&bytes).unwrap(), Geometry::Point(point!(x: 112.1, y: 35.1)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(from_wkb(&[]), Err(GeoError::Wkb(_))));
        assert!(matches!(from_wkb(&[1, 2, 3]), Err(GeoError::Wkb(_))));
        let truncated = &to_wkb(&polygon_with_hole().into())[..20];
        assert!(matches!(from_wkb(truncated), Err(GeoError::Wkb(_))));
    }

    #[test]
    fn empty_point_is_refused() {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&f64::NAN.to_le_bytes());
        bytes.extend_from_slice(&f64::NAN.to_le_bytes());
        assert!(matches!(from_wkb(&bytes), Err(GeoError::Wkb(_))));
    }
}
