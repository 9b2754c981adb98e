//! Distances in geodesic metres on the WGS84 ellipsoid, for judging whether a check-in stood
//! where it claims (DESIGN: "Distances are geodesic metres").
//!
//! Distance to a line or polygon edge needs the nearest point of the edge, which has no cheap
//! exact solution on the ellipsoid. We find it in a local equirectangular plane centred on the
//! query point (longitude scaled by cos(latitude), so that a degree east and a degree north
//! weigh what they weigh on the ground) and then measure to it with Karney's geodesic. Over
//! the few kilometres that matter for a geofence the plane is accurate to well under a metre:
//! the nearest point found is at most slightly off along the edge, which changes the measured
//! distance only to second order. Far away (tens of km) the result is still a close upper
//! bound. Not meant for geometries that cross the antimeridian or reach the poles.

use geo::{Coord, Distance, Geodesic, Geometry, Intersects, LinesIter, Point};

/// Geodesic distance in metres between two WGS84 points (Karney's algorithm).
pub fn geodesic_m(a: Point<f64>, b: Point<f64>) -> f64 {
    Geodesic.distance(a, b)
}

/// Metres from `p` to `g`: 0 when `p` is inside or on a polygon (or on a line or point of
/// `g`), otherwise the geodesic distance to the nearest point of the nearest edge or point.
/// An empty geometry is infinitely far away.
pub fn distance_to_geometry_m(p: Point<f64>, g: &Geometry<f64>) -> f64 {
    if g.intersects(&p) {
        return 0.0;
    }
    let plane = LocalPlane::around(p);
    let mut best = f64::INFINITY;
    let mut consider = |c: Coord<f64>| best = best.min(geodesic_m(p, Point(c)));
    visit_parts(g, &mut |part| match part {
        Part::Vertex(c) => consider(c),
        Part::Segment(a, b) => consider(plane.closest_on_segment(a, b)),
    });
    best
}

enum Part {
    Vertex(Coord<f64>),
    Segment(Coord<f64>, Coord<f64>),
}

/// Isolated points and every edge of `g` (polygon rings included; a single-position line
/// string counts as a point).
fn visit_parts(g: &Geometry<f64>, f: &mut impl FnMut(Part)) {
    fn segments<'a, L: LinesIter<'a, Scalar = f64>>(lines: &'a L, f: &mut impl FnMut(Part)) {
        lines.lines_iter().for_each(|line| f(Part::Segment(line.start, line.end)));
    }
    match g {
        Geometry::Point(pt) => f(Part::Vertex(pt.0)),
        Geometry::MultiPoint(mp) => mp.iter().for_each(|pt| f(Part::Vertex(pt.0))),
        Geometry::LineString(ls) if ls.0.len() == 1 => f(Part::Vertex(ls.0[0])),
        Geometry::Line(l) => f(Part::Segment(l.start, l.end)),
        Geometry::LineString(ls) => segments(ls, f),
        Geometry::MultiLineString(mls) => segments(mls, f),
        Geometry::Polygon(poly) => segments(poly, f),
        Geometry::MultiPolygon(mp) => segments(mp, f),
        Geometry::Rect(r) => segments(r, f),
        Geometry::Triangle(t) => segments(t, f),
        Geometry::GeometryCollection(gc) => gc.iter().for_each(|member| visit_parts(member, f)),
    }
}

/// Equirectangular plane centred on a point: x = Δlon·cos(lat₀), y = Δlat, in degrees.
struct LocalPlane {
    origin: Coord<f64>,
    lon_scale: f64,
}

impl LocalPlane {
    fn around(p: Point<f64>) -> Self {
        Self { origin: p.0, lon_scale: p.y().to_radians().cos() }
    }

    fn project(&self, c: Coord<f64>) -> Coord<f64> {
        Coord { x: (c.x - self.origin.x) * self.lon_scale, y: c.y - self.origin.y }
    }

    /// Nearest point of segment a–b to the origin, back in lon/lat. Interpolating the lon/lat
    /// endpoints with the plane's parameter keeps the result exactly on the segment.
    fn closest_on_segment(&self, a: Coord<f64>, b: Coord<f64>) -> Coord<f64> {
        let (pa, pb) = (self.project(a), self.project(b));
        let d = pb - pa;
        let length_sq = d.x * d.x + d.y * d.y;
        if length_sq == 0.0 {
            return a;
        }
        let t = (-(pa.x * d.x + pa.y * d.y) / length_sq).clamp(0.0, 1.0);
        a + (b - a) * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Destination, GeometryCollection, LineString, MultiPolygon, point, polygon};

    /// A block of fields south of Shaoyuan town (邵原镇), ~910 m east–west, ~1.1 km
    /// north–south.
    fn field() -> Geometry<f64> {
        polygon![
            (x: 112.10, y: 35.10),
            (x: 112.11, y: 35.10),
            (x: 112.11, y: 35.11),
            (x: 112.10, y: 35.11),
            (x: 112.10, y: 35.10),
        ]
        .into()
    }

    fn assert_near(actual: f64, expected: f64, tolerance: f64) {
        assert!((actual - expected).abs() <= tolerance, "{actual} is not within {tolerance} of {expected}");
    }

    #[test]
    fn geodesic_distance_matches_karney() {
        // 0.01° of latitude from 35.10°N to 35.11°N is a meridian arc: the integral of
        // M = a(1−e²)/(1−e² sin²φ)^{3/2} on WGS84, 1109.425 m.
        let d = geodesic_m(point!(x: 112.1, y: 35.1), point!(x: 112.1, y: 35.11));
        assert_near(d, 1109.425, 0.001);
        // 0.01° of longitude along 35.1°N is N·cos φ·Δλ = 911.770 m; the geodesic between the
        // two ends is a hair shorter than the parallel.
        let d = geodesic_m(point!(x: 112.1, y: 35.1), point!(x: 112.11, y: 35.1));
        assert_near(d, 911.77, 0.01);
        assert_near(geodesic_m(point!(x: 112.1, y: 35.1), point!(x: 112.1, y: 35.1)), 0.0, 0.0);
    }

    #[test]
    fn inside_or_on_the_edge_is_zero() {
        assert_near(distance_to_geometry_m(point!(x: 112.105, y: 35.105), &field()), 0.0, 0.0);
        assert_near(distance_to_geometry_m(point!(x: 112.10, y: 35.105), &field()), 0.0, 0.0);
    }

    #[test]
    fn outside_measures_to_the_nearest_edge() {
        // 200 m due east of the east edge, mid-height.
        let edge = point!(x: 112.11, y: 35.105);
        let p = Geodesic.destination(edge, 90.0, 200.0);
        assert_near(distance_to_geometry_m(p, &field()), 200.0, 0.05);
        // 300 m due south of the south edge.
        let p = Geodesic.destination(point!(x: 112.104, y: 35.10), 180.0, 300.0);
        assert_near(distance_to_geometry_m(p, &field()), 300.0, 0.05);
    }

    #[test]
    fn outside_a_corner_measures_to_the_corner() {
        let corner = point!(x: 112.11, y: 35.11);
        let p = Geodesic.destination(corner, 45.0, 150.0);
        assert_near(distance_to_geometry_m(p, &field()), 150.0, 0.05);
    }

    #[test]
    fn a_slanted_edge_uses_the_scaled_plane() {
        // The nearest point on a diagonal edge: in raw lon/lat it would be found ~20% off
        // along the edge; in the scaled plane the result agrees with a brute-force search
        // over the edge to centimetres.
        let edge = LineString::from(vec![(112.10, 35.10), (112.12, 35.12)]);
        let g: Geometry<f64> = edge.clone().into();
        let p = point!(x: 112.115, y: 35.105);
        let brute = (0..=20_000)
            .map(|i| {
                let t = f64::from(i) / 20_000.0;
                geodesic_m(p, point!(x: 112.10 + 0.02 * t, y: 35.10 + 0.02 * t))
            })
            .fold(f64::INFINITY, f64::min);
        assert_near(distance_to_geometry_m(p, &g), brute, 0.02);
    }

    #[test]
    fn a_hole_is_outside() {
        let Geometry::Polygon(outer) = field() else { unreachable!() };
        let hole = LineString::from(vec![
            (112.104, 35.104),
            (112.106, 35.104),
            (112.106, 35.106),
            (112.104, 35.106),
            (112.104, 35.104),
        ]);
        let g: Geometry<f64> = geo::Polygon::new(outer.exterior().clone(), vec![hole]).into();
        let d = distance_to_geometry_m(point!(x: 112.105, y: 35.105), &g);
        // From the hole's centre to its nearest edge: half of 0.002° of longitude (~91 m).
        assert_near(d, 91.1, 0.5);
    }

    #[test]
    fn points_and_collections() {
        let village = point!(x: 112.13, y: 35.15);
        let p = Geodesic.destination(village, 30.0, 75.0);
        assert_near(distance_to_geometry_m(p, &village.into()), 75.0, 0.01);
        let both = Geometry::GeometryCollection(GeometryCollection(vec![
            village.into(),
            MultiPolygon(vec![]).into(),
            field(),
        ]));
        assert_near(distance_to_geometry_m(p, &both), 75.0, 0.01);
        assert_near(distance_to_geometry_m(village, &both), 0.0, 0.0);
    }

    #[test]
    fn empty_geometry_is_infinitely_far() {
        let empty: Geometry<f64> = MultiPolygon(vec![]).into();
        assert!(distance_to_geometry_m(point!(x: 112.1, y: 35.1), &empty).is_infinite());
    }
}
