//! Coordinate systems that phones in China report: WGS84 (GPS), GCJ-02 (the state-mandated
//! obfuscation used by AMap and Tencent maps) and BD-09 (Baidu's extra offset on top of
//! GCJ-02). We store WGS84 and convert at the edge.
//!
//! Hand-written on purpose: no maintained Rust crate implements these transforms (the few on
//! crates.io are unmaintained and use the one-step inverse, which is off by metres). The
//! forward formulas are the public, widely copied ones (the leaked Krasovsky-ellipsoid
//! polynomial for GCJ-02, the `x_pi` rotation for BD-09), checked below against the values of
//! the `eviltransform` and `coordtransform` test suites. The inverses have no closed form, so
//! they are solved by fixed-point iteration until the forward transform of the result lands
//! within 1e-12 degrees of the input; the one-step inverse common in other libraries is off by
//! up to a few metres, which is the size of a geofence.
//!
//! Coordinates are `x` = longitude, `y` = latitude, in degrees.

use std::f64::consts::PI;

use geo::{Coord, Geometry, MapCoordsInPlace};
use serde::{Deserialize, Serialize};

/// The coordinate system a client's coordinates are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS84 (EPSG:4326), what GPS reports and what we store.
    #[default]
    Wgs84,
    /// GCJ-02, "Mars coordinates": AMap (Gaode), Tencent, Apple Maps in China.
    Gcj02,
    /// BD-09: Baidu Maps.
    Bd09,
}

impl Crs {
    /// Convert a coordinate in this system to WGS84.
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => c,
            Crs::Gcj02 => gcj02_to_wgs84(c),
            Crs::Bd09 => bd09_to_wgs84(c),
        }
    }

    /// Convert a WGS84 coordinate to this system.
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => c,
            Crs::Gcj02 => wgs84_to_gcj02(c),
            Crs::Bd09 => wgs84_to_bd09(c),
        }
    }

    /// Convert every coordinate of `g`, in place, from this system to WGS84.
    pub fn geometry_to_wgs84(self, g: &mut Geometry<f64>) {
        if self != Crs::Wgs84 {
            g.map_coords_in_place(|c| self.to_wgs84(c));
        }
    }

    /// Convert every coordinate of `g`, in place, from WGS84 to this system.
    pub fn geometry_from_wgs84(self, g: &mut Geometry<f64>) {
        if self != Crs::Wgs84 {
            g.map_coords_in_place(|c| self.from_wgs84(c));
        }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid, which GCJ-02 is built on.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky ellipsoid, with the digits every
/// implementation copies (the trailing ones exceed f64 precision but keep results identical).
#[expect(
    clippy::excessive_precision,
    reason = "the constant is quoted exactly as published so it can be compared with other implementations"
)]
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943_23;
/// Baidu's rotation factor.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Convergence target of the iterative inverses, in degrees (1e-12° is ~0.1 µm).
const INVERSE_TOLERANCE_DEG: f64 = 1e-12;
/// The iterations converge in 3–6 steps inside China; the cap only guards the edges of the
/// China box, where the forward transform jumps and a fixed point may not exist.
const INVERSE_MAX_ITERATIONS: usize = 40;

/// GCJ-02 is the identity outside this box. It is the rectangle every public implementation
/// uses (not the real border), so we agree with them on what "outside China" means.
fn out_of_china(c: Coord<f64>) -> bool {
    !(72.004..=137.8347).contains(&c.x) || !(0.8293..=55.8271).contains(&c.y)
}

fn gcj02_lat_offset(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn gcj02_lon_offset(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS84 → GCJ-02. Identity outside the China box.
pub fn wgs84_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    if out_of_china(c) {
        return c;
    }
    let d_lat = gcj02_lat_offset(c.x - 105.0, c.y - 35.0);
    let d_lon = gcj02_lon_offset(c.x - 105.0, c.y - 35.0);
    let rad_lat = c.y / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    // The polynomial yields metres; these turn them into degrees on the Krasovsky ellipsoid
    // (meridian and prime-vertical radii of curvature).
    let d_lat = (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    Coord { x: c.x + d_lon, y: c.y + d_lat }
}

/// GCJ-02 → WGS84, exact to ~1e-12° inside China (iterative inverse of [`wgs84_to_gcj02`]).
pub fn gcj02_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    invert(wgs84_to_gcj02, c)
}

/// GCJ-02 → BD-09. Baidu applies its offset everywhere, not only inside China.
pub fn gcj02_to_bd09(c: Coord<f64>) -> Coord<f64> {
    let z = c.x.hypot(c.y) + 0.000_02 * (c.y * X_PI).sin();
    let theta = c.y.atan2(c.x) + 0.000_003 * (c.x * X_PI).cos();
    Coord { x: z * theta.cos() + 0.0065, y: z * theta.sin() + 0.006 }
}

/// BD-09 → GCJ-02 (iterative inverse of [`gcj02_to_bd09`]).
pub fn bd09_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    invert(gcj02_to_bd09, c)
}

/// WGS84 → BD-09.
pub fn wgs84_to_bd09(c: Coord<f64>) -> Coord<f64> {
    gcj02_to_bd09(wgs84_to_gcj02(c))
}

/// BD-09 → WGS84. The composition of two exact inverses is the exact inverse of the
/// composition, so this is as accurate as each step.
pub fn bd09_to_wgs84(c: Coord<f64>) -> Coord<f64> {
    gcj02_to_wgs84(bd09_to_gcj02(c))
}

/// Solve `forward(p) = target` for `p`. Both transforms are the identity plus an offset that
/// varies slowly (its derivative is ~1e-5), so stepping back by the current residual is a
/// contraction and converges geometrically from `p = target`.
fn invert(forward: fn(Coord<f64>) -> Coord<f64>, target: Coord<f64>) -> Coord<f64> {
    let mut p = target;
    let mut best = (f64::INFINITY, p);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let image = forward(p);
        let residual = image - target;
        let error = residual.x.abs().max(residual.y.abs());
        if error < best.0 {
            best = (error, p);
        }
        if error <= INVERSE_TOLERANCE_DEG {
            break;
        }
        p = p - residual;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Geodesic, Point, coord, polygon};

    fn assert_close(actual: Coord<f64>, expected: Coord<f64>, tolerance_deg: f64) {
        assert!(
            (actual.x - expected.x).abs() <= tolerance_deg && (actual.y - expected.y).abs() <= tolerance_deg,
            "{actual:?} is not within {tolerance_deg}° of {expected:?}"
        );
    }

    fn geodesic_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
        Geodesic.distance(Point::from(a), Point::from(b))
    }

    /// (WGS84, GCJ-02) pairs from the eviltransform test suite
    /// (github.com/googollee/eviltransform, python/test.py `TESTS`: Shanghai, Shenzhen,
    /// Beijing) and the coordtransform README/test (github.com/wandergis/coordtransform,
    /// test/app.js: `wgs84togcj02(116.404, 39.915)`).
    const WGS_GCJ: [(Coord<f64>, Coord<f64>); 4] = [
        (coord! { x: 121.527_210_6, y: 31.177_427_6 }, coord! { x: 121.531_541_859_215, y: 31.175_303_983_645_97 }),
        (coord! { x: 113.912_316, y: 22.543_847 }, coord! { x: 113.917_176_480_836_3, y: 22.540_796_131_694_766 }),
        (coord! { x: 116.377_817, y: 39.911_954 }, coord! { x: 116.384_047_224_556_57, y: 39.913_345_455_360_69 }),
        (coord! { x: 116.404, y: 39.915 }, coord! { x: 116.410_244_499_169_38, y: 39.916_404_281_501_64 }),
    ];

    #[test]
    fn wgs84_to_gcj02_matches_published_values() {
        for (wgs, gcj) in WGS_GCJ {
            assert_close(wgs84_to_gcj02(wgs), gcj, 1e-12);
        }
    }

    #[test]
    fn gcj02_to_wgs84_recovers_published_origins() {
        for (wgs, gcj) in WGS_GCJ {
            assert_close(gcj02_to_wgs84(gcj), wgs, 1e-9);
        }
    }

    #[test]
    fn gcj02_to_bd09_matches_coordtransform() {
        // coordtransform test/app.js: gcj02tobd09(116.404, 39.915).
        let bd = gcj02_to_bd09(coord! { x: 116.404, y: 39.915 });
        assert_close(bd, coord! { x: 116.410_369_493_710_29, y: 39.921_336_993_510_21 }, 1e-12);
        assert_close(bd09_to_gcj02(bd), coord! { x: 116.404, y: 39.915 }, 1e-9);
    }

    #[test]
    fn bd09_to_gcj02_is_exact_where_the_one_step_formula_is_not() {
        // coordtransform's bd09togcj02(116.404, 39.915) = (116.39762729119315,
        // 39.90865673957631) is the one-step approximation; the exact inverse lies a few
        // centimetres away and maps forward onto the input, the published value does not.
        let input = coord! { x: 116.404, y: 39.915 };
        let published = coord! { x: 116.397_627_291_193_15, y: 39.908_656_739_576_31 };
        let exact = bd09_to_gcj02(input);
        assert_close(exact, published, 1e-6);
        assert_close(gcj02_to_bd09(exact), input, 1e-11);
        assert!(geodesic_m(gcj02_to_bd09(published), input) > 0.01);
    }

    #[test]
    fn wgs84_and_bd09_round_trip_through_gcj02() {
        for (wgs, gcj) in WGS_GCJ {
            let bd = wgs84_to_bd09(wgs);
            assert_close(bd, gcj02_to_bd09(gcj), 1e-12);
            assert_close(bd09_to_wgs84(bd), wgs, 1e-9);
        }
    }

    #[test]
    fn inverses_are_centimetre_exact_over_china() {
        let mut worst_m: f64 = 0.0;
        for i in 0..=124 {
            for j in 0..=70 {
                let p = coord! { x: 73.5 + 0.5 * f64::from(i), y: 18.0 + 0.5 * f64::from(j) };
                for (forward, inverse) in
                    [(wgs84_to_gcj02 as fn(_) -> _, gcj02_to_wgs84 as fn(_) -> _), (wgs84_to_bd09, bd09_to_wgs84)]
                {
                    // Both directions: the inverse of a forward image, and the forward image
                    // of an inverse.
                    worst_m = worst_m.max(geodesic_m(inverse(forward(p)), p));
                    worst_m = worst_m.max(geodesic_m(forward(inverse(p)), p));
                    assert_close(forward(inverse(p)), p, 1e-7);
                }
            }
        }
        assert!(worst_m < 0.01, "worst round-trip error {worst_m} m");
    }

    #[test]
    fn gcj02_is_identity_outside_china() {
        for p in [
            coord! { x: 2.3522, y: 48.8566 },    // Paris
            coord! { x: -74.006, y: 40.7128 },   // New York
            coord! { x: 139.6917, y: 35.6895 },  // Tokyo, east of the box
            coord! { x: 151.2093, y: -33.8688 }, // Sydney
        ] {
            assert_eq!(wgs84_to_gcj02(p), p);
            assert_eq!(gcj02_to_wgs84(p), p);
            assert_eq!(Crs::Gcj02.to_wgs84(p), p);
        }
    }

    #[test]
    fn the_offset_is_hundreds_of_metres_in_china() {
        // Sanity check that the transform is not accidentally the identity near our demo
        // township (Shaoyuan, Jiyuan): GCJ-02 moves points by a few hundred metres there.
        let p = coord! { x: 112.13, y: 35.15 };
        let d = geodesic_m(wgs84_to_gcj02(p), p);
        assert!((100.0..1000.0).contains(&d), "offset {d} m");
    }

    #[test]
    fn geometries_convert_in_place_and_back() {
        let original: Geometry<f64> = polygon![
            (x: 112.10, y: 35.10),
            (x: 112.20, y: 35.10),
            (x: 112.20, y: 35.20),
            (x: 112.10, y: 35.10),
        ]
        .into();
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            let mut g = original.clone();
            crs.geometry_from_wgs84(&mut g);
            if crs != Crs::Wgs84 {
                assert_ne!(g, original);
            }
            crs.geometry_to_wgs84(&mut g);
            let Geometry::Polygon(back) = g else { panic!("kind changed") };
            let Geometry::Polygon(orig) = &original else { unreachable!() };
            for (a, b) in back.exterior().coords().zip(orig.exterior().coords()) {
                assert_close(*a, *b, 1e-9);
            }
        }
    }

    #[test]
    fn crs_names_in_json_are_lowercase() {
        assert_eq!(serde_json::to_string(&Crs::Gcj02).unwrap(), "\"gcj02\"");
        assert_eq!(serde_json::from_str::<Crs>("\"bd09\"").unwrap(), Crs::Bd09);
        assert_eq!(Crs::default(), Crs::Wgs84);
    }
}
