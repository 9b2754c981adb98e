//! Checks on geometries that people send (planners' imports, the console's drawing tool)
//! before they are stored. Two separate checks because they fail for different reasons:
//! [`check_coordinates`] catches numbers that are not a place on Earth (often swapped lon/lat
//! or a projected CRS sent as degrees); [`check_valid`] catches shapes that PostGIS and the
//! coverage queries cannot use (open rings, bow-ties, empty parts).
//!
//! Locations in messages are GeoJSON member paths (`coordinates[0][3]`,
//! `geometries[1].coordinates`), the same ones [`crate::geojson_io`] uses, so a client can find
//! the culprit in what it sent.
//!
//! Township and grid boundaries from surveys have tens of thousands of vertices, so the checks
//! must scale: geo's own [`Validation`] tests every edge of a ring against every other edge
//! (45,000 vertices took 5 s in a release build, 140 s in a debug one). Polygons and
//! multipolygons are therefore checked here with the same rules and the same messages, but
//! edges (and holes, and parts) are only compared with those whose bounding boxes touch, found
//! through an R-tree; [`check_size`] bounds the work before anything else runs.

use geo::algorithm::validation::{CoordIndex, GeometryIndex, InvalidMultiPolygon, InvalidPolygon, RingRole};
use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::kernels::{Kernel as _, Orientation, RobustKernel};
use geo::{
    BoundingRect, Coord, CoordsIter, Geometry, HasDimensions, Intersects, Line, LineString, MultiPolygon, Polygon,
    PreparedGeometry, Relate, RemoveRepeatedPoints, Validation,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree, RTreeObject as _};

use crate::GeoError;

/// The most positions one geometry may have. The largest boundary of a county's townships is a
/// few tens of thousands of vertices; a 2 MB request body can hold about 170,000 short
/// positions. Validation is O(n log n), so this bounds its time (well under a second in a
/// release build) and the memory of the index.
pub const MAX_VERTICES: usize = 100_000;

/// The geometry has at most [`MAX_VERTICES`] positions. Cheap (one pass, no allocation):
/// call it before the other checks.
pub fn check_size(g: &Geometry<f64>) -> Result<(), GeoError> {
    let count = g.coords_count();
    if count > MAX_VERTICES {
        return Err(GeoError::TooManyVertices { count, max: MAX_VERTICES });
    }
    Ok(())
}

/// Every coordinate is finite, longitude within [-180, 180] and latitude within [-90, 90].
/// The error names the first coordinate that is not.
pub fn check_coordinates(g: &Geometry<f64>) -> Result<(), GeoError> {
    check_coordinates_at(g, "")
}

/// The geometry is non-empty (and so is each of its parts), every polygon ring is closed with
/// at least 4 positions, and it is valid in the OGC Simple Features sense as checked by geo's
/// [`Validation`]: no self-intersecting rings, holes inside their shell, parts of a
/// multipolygon not overlapping. The error gives the first reason found.
pub fn check_valid(g: &Geometry<f64>) -> Result<(), GeoError> {
    if g.is_empty() {
        return Err(GeoError::Empty("the geometry".to_owned()));
    }
    check_valid_at(g, "")
}

fn coordinate_problem(c: Coord<f64>) -> Option<String> {
    if !c.x.is_finite() || !c.y.is_finite() {
        return Some(format!("[{}, {}] is not a pair of finite numbers", c.x, c.y));
    }
    let lon_ok = (-180.0..=180.0).contains(&c.x);
    let lat_ok = (-90.0..=90.0).contains(&c.y);
    // Swapped axes are the most common cause; say so when swapping would fix it.
    let swap_hint = if (-90.0..=90.0).contains(&c.x) && (-180.0..=180.0).contains(&c.y) {
        " (are longitude and latitude swapped? positions are [lon, lat])"
    } else {
        ""
    };
    if !lon_ok {
        Some(format!("longitude {} is outside [-180, 180]{swap_hint}", c.x))
    } else if !lat_ok {
        Some(format!("latitude {} is outside [-90, 90]{swap_hint}", c.y))
    } else {
        None
    }
}

fn check_coord(c: Coord<f64>, location: impl FnOnce() -> String) -> Result<(), GeoError> {
    match coordinate_problem(c) {
        None => Ok(()),
        Some(reason) => Err(GeoError::Coordinate { location: location(), reason }),
    }
}

fn check_sequence(coords: &[Coord<f64>], path: &str) -> Result<(), GeoError> {
    coords.iter().enumerate().try_for_each(|(i, c)| check_coord(*c, || format!("{path}[{i}]")))
}

fn check_rings(p: &Polygon<f64>, path: &str) -> Result<(), GeoError> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
        .try_for_each(|(r, ring)| check_sequence(&ring.0, &format!("{path}[{r}]")))
}

fn check_coordinates_at(g: &Geometry<f64>, prefix: &str) -> Result<(), GeoError> {
    let path = format!("{prefix}coordinates");
    match g {
        Geometry::Point(p) => check_coord(p.0, || path.clone()),
        Geometry::MultiPoint(mp) => {
            mp.iter().enumerate().try_for_each(|(i, p)| check_coord(p.0, || format!("{path}[{i}]")))
        }
        Geometry::Line(l) => check_sequence(&[l.start, l.end], &path),
        Geometry::LineString(ls) => check_sequence(&ls.0, &path),
        Geometry::MultiLineString(mls) => {
            mls.iter().enumerate().try_for_each(|(i, ls)| check_sequence(&ls.0, &format!("{path}[{i}]")))
        }
        Geometry::Polygon(p) => check_rings(p, &path),
        Geometry::Rect(r) => check_rings(&r.to_polygon(), &path),
        Geometry::Triangle(t) => check_rings(&t.to_polygon(), &path),
        Geometry::MultiPolygon(mp) => {
            mp.iter().enumerate().try_for_each(|(i, p)| check_rings(p, &format!("{path}[{i}]")))
        }
        Geometry::GeometryCollection(gc) => {
            gc.iter().enumerate().try_for_each(|(i, g)| check_coordinates_at(g, &format!("{prefix}geometries[{i}].")))
        }
    }
}

/// Rings must be closed with at least 4 positions. geo closes rings when a polygon is built,
/// so "not closed" is rare here, but geo's own check counts *distinct* points and would let
/// a degenerate ring such as [a, b, a] through as "too few points" with no location.
fn check_ring_shape(ring: &LineString<f64>, path: &str) -> Result<(), GeoError> {
    if ring.0.is_empty() {
        return Err(GeoError::Empty(path.to_owned()));
    }
    if !ring.is_closed() {
        return Err(GeoError::Invalid(format!("{path} is not closed: its last position must repeat its first")));
    }
    if ring.0.len() < 4 {
        return Err(GeoError::Invalid(format!(
            "{path} has {} positions; a ring needs at least 4 (3 corners and the first \
             repeated at the end)",
            ring.0.len()
        )));
    }
    Ok(())
}

fn check_polygon(p: &Polygon<f64>, path: &str) -> Result<(), GeoError> {
    if p.is_empty() {
        return Err(GeoError::Empty(path.to_owned()));
    }
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
        .try_for_each(|(r, ring)| check_ring_shape(ring, &format!("{path}[{r}]")))?;
    match polygon_problem(p, path)? {
        Some(e) => Err(GeoError::Invalid(format!("{path}: {e}"))),
        None => Ok(()),
    }
}

/// A box in an R-tree, with the index of what it bounds (an edge, a hole, a part).
type Indexed = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn envelope(a: Coord<f64>, b: Coord<f64>) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([a.x, a.y], [b.x, b.y])
}

fn index(boxes: impl Iterator<Item = (usize, Rectangle<[f64; 2]>)>) -> RTree<Indexed> {
    RTree::bulk_load(boxes.map(|(i, r)| GeomWithData::new(r, i)).collect())
}

/// The indexes above `after` whose boxes touch `search`, in order, so that the first problem
/// reported is the one geo would report.
fn touching(tree: &RTree<Indexed>, search: &Rectangle<[f64; 2]>, after: usize) -> Vec<usize> {
    let mut near: Vec<usize> = tree
        .locate_in_envelope_intersecting(&search.envelope())
        .map(|other| other.data)
        .filter(|&j| j > after)
        .collect();
    near.sort_unstable();
    near
}

/// Edge comparisons the self-intersection check of one ring may make: a fixed allowance, so
/// that any ring of a few thousand vertices is checked whatever its shape, plus
/// [`PAIRS_PER_EDGE`] per edge.
const PAIRS_ALLOWANCE: usize = 1 << 20;
/// In a surveyed boundary an edge's box touches those of a handful of edges near it (one on
/// average in the 45,000-vertex boundary of `tests/validation_scaling.rs`). Only a ring drawn
/// to defeat the index comes near: long spikes radiating from one spot, so that every box
/// overlaps every other. It is refused rather than checked in quadratic time.
const PAIRS_PER_EDGE: usize = 64;

/// A ring's edges in an R-tree of their boxes: which edges can meet, and where the ring's
/// boundary is, in O(log n) per question.
struct RingIndex<'a> {
    ring: &'a LineString<f64>,
    edges: Vec<Line<f64>>,
    tree: RTree<Indexed>,
    bbox: Option<Rectangle<[f64; 2]>>,
}

impl<'a> RingIndex<'a> {
    fn new(ring: &'a LineString<f64>) -> Self {
        let edges: Vec<Line<f64>> = ring.lines().collect();
        let tree = index(edges.iter().map(|e| envelope(e.start, e.end)).enumerate());
        let bbox = ring.bounding_rect().map(|r| envelope(r.min(), r.max()));
        Self { ring, edges, tree, bbox }
    }

    /// geo's rule for a self-intersecting ring (two edges that meet, other than where one ends
    /// and the other begins), with the pairs narrowed to edges whose boxes touch. Boxes are
    /// closed and made of the edges' own coordinates, so every pair geo would find is among
    /// them: the verdict is geo's, in O(n log n) for a real boundary instead of O(n²). `Err`
    /// past the comparison budget.
    fn self_intersects(&self, path: &str) -> Result<bool, GeoError> {
        let mut budget = PAIRS_PER_EDGE.saturating_mul(self.edges.len()).saturating_add(PAIRS_ALLOWANCE);
        for (i, edge) in self.edges.iter().enumerate() {
            let search = AABB::from_corners([edge.start.x, edge.start.y], [edge.end.x, edge.end.y]);
            for other in self.tree.locate_in_envelope_intersecting(&search) {
                let j = other.data;
                if j <= i {
                    continue;
                }
                budget = budget.checked_sub(1).ok_or_else(|| GeoError::TooIntricate(path.to_owned()))?;
                let other = &self.edges[j];
                if edge.intersects(other) && edge.start != other.end && edge.end != other.start {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Some edge's box touches `area`. When none does, the ring's boundary cannot meet anything
    /// inside `area`.
    fn near(&self, area: &Rectangle<[f64; 2]>) -> bool {
        self.tree.locate_in_envelope_intersecting(&area.envelope()).next().is_some()
    }

    /// `p` is inside the ring, for a `p` not on it (the callers know it is not, from
    /// [`Self::near`]). The winding number, with robust orientation, counted over the edges
    /// whose boxes meet the ray from `p` to the east: no other edge can cross it.
    fn encloses(&self, p: Coord<f64>) -> bool {
        let Some(bbox) = &self.bbox else { return false };
        let east = AABB::from_corners([p.x, p.y], [bbox.upper()[0].max(p.x), p.y]);
        let mut winding: i64 = 0;
        for found in self.tree.locate_in_envelope_intersecting(&east) {
            let Line { start: a, end: b } = self.edges[found.data];
            let side = RobustKernel::orient2d(a, b, p);
            if a.y <= p.y && b.y > p.y && side == Orientation::CounterClockwise {
                winding += 1;
            } else if a.y > p.y && b.y <= p.y && side == Orientation::Clockwise {
                winding -= 1;
            }
        }
        winding != 0
    }

    /// How two rings whose boundaries do not meet lie: `Some(true)` when either encloses the
    /// other, `Some(false)` when they are apart, `None` when their boundaries may meet (the
    /// caller then asks geo's `relate`, which handles touching and shared edges).
    fn nested(&self, other: &RingIndex<'_>) -> Option<bool> {
        let (Some(mine), Some(theirs)) = (&self.bbox, &other.bbox) else { return Some(false) };
        // One test suffices: boundaries are disjoint when the edges of either ring stay clear of
        // the other's box. Ask the larger ring, whose index makes the question cheap.
        let (big, small, small_box) =
            if self.edges.len() >= other.edges.len() { (self, other, theirs) } else { (other, self, mine) };
        if big.near(small_box) {
            return None;
        }
        Some(big.encloses(small.ring.0[0]) || small.encloses(big.ring.0[0]))
    }
}

/// The first reason `p` is invalid, by geo's rules, in geo's order and with geo's messages
/// (each ring: distinct points, self-intersection, finite coordinates; then each hole against
/// the shell and against the other holes), or `None`. Holes whose boxes do not touch cannot
/// meet and are not compared; a hole that stays clear of the shell's edges is inside or out,
/// which one point tells. Only rings whose boundaries may meet go to geo's `relate`.
fn polygon_problem(p: &Polygon<f64>, path: &str) -> Result<Option<InvalidPolygon>, GeoError> {
    if p.is_empty() {
        return Ok(None);
    }
    let mut rings = Vec::with_capacity(1 + p.interiors().len());
    for (r, ring) in std::iter::once(p.exterior()).chain(p.interiors()).enumerate() {
        if ring.is_empty() {
            continue;
        }
        let role = if r == 0 { RingRole::Exterior } else { RingRole::Interior(r - 1) };
        if ring.remove_repeated_points().0.len() < 4 {
            return Ok(Some(InvalidPolygon::TooFewPointsInRing(role)));
        }
        let indexed = RingIndex::new(ring);
        if indexed.self_intersects(&format!("{path}[{r}]"))? {
            return Ok(Some(InvalidPolygon::SelfIntersection(role)));
        }
        if let Some(i) = ring.0.iter().position(|c| !c.x.is_finite() || !c.y.is_finite()) {
            return Ok(Some(InvalidPolygon::NonFiniteCoord(role, CoordIndex(i))));
        }
        rings.push((role, indexed));
    }
    let Some(((RingRole::Exterior, shell), holes)) = rings.split_first() else {
        // No exterior, or only holes: geo relates nothing then either.
        return Ok(None);
    };
    if holes.is_empty() {
        return Ok(None);
    }
    let shell_polygon = Polygon::new(p.exterior().clone(), vec![]);
    let prepared_shell = std::cell::OnceCell::new();
    let tree = index(holes.iter().enumerate().filter_map(|(k, (_, hole))| Some((k, hole.bbox?))));
    for (k, (role, hole)) in holes.iter().enumerate() {
        let Some(hole_box) = &hole.bbox else { continue };
        if shell.near(hole_box) {
            let hole_polygon = Polygon::new(hole.ring.clone(), vec![]);
            let against_shell =
                prepared_shell.get_or_init(|| PreparedGeometry::from(&shell_polygon)).relate(&hole_polygon);
            if !against_shell.is_contains() {
                return Ok(Some(InvalidPolygon::InteriorRingNotContainedInExteriorRing(*role)));
            }
            if against_shell.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                return Ok(Some(InvalidPolygon::IntersectingRingsOnALine(RingRole::Exterior, *role)));
            }
        } else if !shell.encloses(hole.ring.0[0]) {
            return Ok(Some(InvalidPolygon::InteriorRingNotContainedInExteriorRing(*role)));
        }
        for m in touching(&tree, hole_box, k) {
            let (other_role, other) = &holes[m];
            match hole.nested(other) {
                Some(false) => {}
                Some(true) => return Ok(Some(InvalidPolygon::IntersectingRingsOnAnArea(*role, *other_role))),
                None => {
                    let between =
                        Polygon::new(hole.ring.clone(), vec![]).relate(&Polygon::new(other.ring.clone(), vec![]));
                    if between.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                        return Ok(Some(InvalidPolygon::IntersectingRingsOnAnArea(*role, *other_role)));
                    }
                    if between.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                        return Ok(Some(InvalidPolygon::IntersectingRingsOnALine(*role, *other_role)));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// How the parts of a multipolygon (each valid on its own) relate: the first two that overlap
/// or share an edge, by geo's rules and messages. Only parts whose boxes touch are compared;
/// two parts without holes whose boundaries stay apart overlap exactly when one encloses the
/// other. The rest go to geo's `relate`.
fn parts_problem(mp: &MultiPolygon<f64>) -> Option<InvalidMultiPolygon> {
    let shells: Vec<RingIndex<'_>> = mp.iter().map(|p| RingIndex::new(p.exterior())).collect();
    let tree = index(shells.iter().enumerate().filter_map(|(i, s)| Some((i, s.bbox?))));
    for (i, shell) in shells.iter().enumerate() {
        let Some(search) = &shell.bbox else { continue };
        for j in touching(&tree, search, i) {
            let without_holes = mp.0[i].interiors().is_empty() && mp.0[j].interiors().is_empty();
            let (overlap, touch) = if let Some(nested) = shell.nested(&shells[j]).filter(|_| without_holes) {
                (nested, false)
            } else {
                let between = mp.0[i].relate(&mp.0[j]);
                (
                    between.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional,
                    between.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional,
                )
            };
            if overlap {
                return Some(InvalidMultiPolygon::ElementsOverlaps(GeometryIndex(i), GeometryIndex(j)));
            }
            if touch {
                return Some(InvalidMultiPolygon::ElementsTouchOnALine(GeometryIndex(i), GeometryIndex(j)));
            }
        }
    }
    None
}

fn check_valid_at(g: &Geometry<f64>, prefix: &str) -> Result<(), GeoError> {
    let path = format!("{prefix}coordinates");
    match g {
        Geometry::Polygon(p) => check_polygon(p, &path),
        Geometry::MultiPolygon(mp) => {
            if mp.0.is_empty() {
                return Err(GeoError::Empty(path));
            }
            mp.iter().enumerate().try_for_each(|(i, p)| check_polygon(p, &format!("{path}[{i}]")))?;
            // Each part is valid; what remains is how parts relate (overlap, shared edges).
            match parts_problem(mp) {
                Some(e) => Err(GeoError::Invalid(format!("{path}: {e}"))),
                None => Ok(()),
            }
        }
        Geometry::MultiLineString(mls) => {
            if let Some(i) = mls.iter().position(|ls| ls.0.is_empty()) {
                return Err(GeoError::Empty(format!("{path}[{i}]")));
            }
            mls.check_validation().map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
        }
        Geometry::GeometryCollection(gc) => {
            if gc.0.is_empty() {
                return Err(GeoError::Empty(format!("{prefix}geometries")));
            }
            gc.iter().enumerate().try_for_each(|(i, member)| {
                let member_prefix = format!("{prefix}geometries[{i}].");
                if member.is_empty() {
                    return Err(GeoError::Empty(format!("{member_prefix}coordinates")));
                }
                check_valid_at(member, &member_prefix)
            })
        }
        other => {
            if other.is_empty() {
                return Err(GeoError::Empty(path));
            }
            other.check_validation().map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{GeometryCollection, MultiLineString, line_string, point, polygon};

    fn square(x0: f64, y0: f64, side: f64) -> Polygon<f64> {
        polygon![
            (x: x0, y: y0),
            (x: x0 + side, y: y0),
            (x: x0 + side, y: y0 + side),
            (x: x0, y: y0 + side),
            (x: x0, y: y0),
        ]
    }

    #[test]
    fn real_coordinates_pass() {
        let g: Geometry<f64> = square(112.1, 35.1, 0.01).into();
        assert_eq!(check_coordinates(&g), Ok(()));
        assert_eq!(check_valid(&g), Ok(()));
    }

    #[test]
    fn names_the_coordinate_out_of_range() {
        let mut ring = square(112.1, 35.1, 0.01).exterior().0.clone();
        ring[2].y = 95.0;
        let g: Geometry<f64> = Polygon::new(LineString(ring), vec![]).into();
        assert_eq!(
            check_coordinates(&g).unwrap_err().to_string(),
            "coordinates[0][2]: latitude 95 is outside [-90, 90]"
        );
    }

    #[test]
    fn hints_at_swapped_axes() {
        let g: Geometry<f64> = point!(x: 35.15, y: 112.13).into();
        assert_eq!(
            check_coordinates(&g).unwrap_err(),
            GeoError::Coordinate {
                location: "coordinates".to_owned(),
                reason: "latitude 112.13 is outside [-90, 90] \
                         (are longitude and latitude swapped? positions are [lon, lat])"
                    .to_owned(),
            }
        );
    }

    #[test]
    fn refuses_non_finite_and_projected_numbers() {
        let g: Geometry<f64> = line_string![(x: 112.1, y: 35.1), (x: f64::NAN, y: 35.2)].into();
        assert!(matches!(
            check_coordinates(&g),
            Err(GeoError::Coordinate { location, .. }) if location == "coordinates[1]"
        ));
        // Web-Mercator metres sent as degrees.
        let g: Geometry<f64> = point!(x: 12_481_000.0, y: 4_180_000.0).into();
        assert!(check_coordinates(&g).unwrap_err().to_string().contains("longitude 12481000 is outside [-180, 180]"));
    }

    #[test]
    fn paths_reach_into_collections() {
        let g = Geometry::GeometryCollection(GeometryCollection(vec![
            point!(x: 112.0, y: 35.0).into(),
            MultiPolygon(vec![square(112.0, 35.0, 0.1), square(190.0, 35.0, 0.1)]).into(),
        ]));
        assert!(matches!(
            check_coordinates(&g),
            Err(GeoError::Coordinate { location, .. })
                if location == "geometries[1].coordinates[1][0][0]"
        ));
    }

    #[test]
    fn refuses_a_bow_tie() {
        let g: Geometry<f64> = polygon![
            (x: 112.0, y: 35.0),
            (x: 112.1, y: 35.1),
            (x: 112.1, y: 35.0),
            (x: 112.0, y: 35.1),
            (x: 112.0, y: 35.0),
        ]
        .into();
        assert_eq!(
            check_valid(&g).unwrap_err().to_string(),
            "invalid geometry: coordinates: exterior ring has a self-intersection"
        );
    }

    #[test]
    fn refuses_degenerate_rings() {
        let g: Geometry<f64> = Polygon::new(
            LineString(vec![Coord { x: 112.0, y: 35.0 }, Coord { x: 112.1, y: 35.0 }, Coord { x: 112.0, y: 35.0 }]),
            vec![],
        )
        .into();
        assert!(
            check_valid(&g)
                .unwrap_err()
                .to_string()
                .contains("coordinates[0] has 3 positions; a ring needs at least 4")
        );
    }

    #[test]
    fn refuses_a_hole_outside_its_shell() {
        let outer = square(112.0, 35.0, 0.1);
        let hole = square(112.5, 35.5, 0.01).exterior().clone();
        let g: Geometry<f64> = Polygon::new(outer.exterior().clone(), vec![hole]).into();
        assert!(check_valid(&g).unwrap_err().to_string().contains("not contained within the polygon's exterior"));
    }

    #[test]
    fn refuses_overlapping_parts() {
        let g: Geometry<f64> = MultiPolygon(vec![square(112.0, 35.0, 0.1), square(112.05, 35.05, 0.1)]).into();
        assert_eq!(
            check_valid(&g).unwrap_err().to_string(),
            "invalid geometry: coordinates: polygons at indices 0 and 1 overlap"
        );
    }

    #[test]
    fn refuses_empty_geometries_and_parts() {
        let empty = MultiPolygon::<f64>(vec![]).into();
        assert_eq!(check_valid(&empty), Err(GeoError::Empty("the geometry".to_owned())));
        let part = MultiPolygon(vec![square(112.0, 35.0, 0.1), Polygon::new(LineString(vec![]), vec![])]).into();
        assert_eq!(check_valid(&part), Err(GeoError::Empty("coordinates[1]".to_owned())));
        let lines =
            MultiLineString(vec![line_string![(x: 112.0, y: 35.0), (x: 112.1, y: 35.0)], LineString(vec![])]).into();
        assert_eq!(check_valid(&lines), Err(GeoError::Empty("coordinates[1]".to_owned())));
        let collection = Geometry::GeometryCollection(GeometryCollection(vec![
            point!(x: 112.0, y: 35.0).into(),
            MultiPolygon::<f64>(vec![]).into(),
        ]));
        assert_eq!(check_valid(&collection), Err(GeoError::Empty("geometries[1].coordinates".to_owned())));
    }

    #[test]
    fn polygon_with_a_proper_hole_is_valid() {
        let outer = square(112.0, 35.0, 0.1);
        let hole = square(112.02, 35.02, 0.01).exterior().clone();
        let g: Geometry<f64> = Polygon::new(outer.exterior().clone(), vec![hole]).into();
        assert_eq!(check_valid(&g), Ok(()));
    }

    /// A small deterministic generator (no dependency for a test).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u32) -> u32 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            u32::try_from((self.0 >> 33) % u64::from(n)).unwrap()
        }
    }

    /// A closed ring of 3 to 8 corners: on a coarse grid, so that rings touch, share edges,
    /// repeat and line up, or star-shaped around a centre, so that many are valid.
    fn ring(rng: &mut Lcg, x: f64, y: f64, size: f64) -> LineString<f64> {
        if rng.below(4) == 0 {
            // A box on the unit grid: boxes share edges and corners.
            let (w, h) = (f64::from(1 + rng.below(2)) * size / 2.0, f64::from(1 + rng.below(2)) * size / 2.0);
            let (x, y) = (x.round(), y.round());
            return LineString(vec![
                Coord { x, y },
                Coord { x: x + w, y },
                Coord { x: x + w, y: y + h },
                Coord { x, y: y + h },
                Coord { x, y },
            ]);
        }
        let corners = 3 + rng.below(6);
        let star = rng.below(3) > 0;
        let mut coords: Vec<Coord<f64>> = (0..corners)
            .map(|k| {
                if star {
                    let angle = std::f64::consts::TAU * f64::from(k) / f64::from(corners);
                    let radius = size * f64::from(1 + rng.below(4)) / 4.0;
                    Coord { x: x + radius * angle.cos(), y: y + radius * angle.sin() }
                } else {
                    let cell = size / 2.0;
                    Coord { x: x - size + cell * f64::from(rng.below(5)), y: y - size + cell * f64::from(rng.below(5)) }
                }
            })
            .collect();
        coords.push(coords[0]);
        LineString(coords)
    }

    fn random_polygon(rng: &mut Lcg) -> Polygon<f64> {
        let shell = ring(rng, 0.0, 0.0, 8.0);
        // Holes well inside (apart or nested) or anywhere (crossing, touching, outside).
        let (spread, largest) = if rng.below(2) == 0 { (9, 2) } else { (13, 3) };
        let holes = (0..rng.below(4))
            .map(|_| {
                let half = f64::from(spread / 2);
                let (x, y) = (f64::from(rng.below(spread)) - half, f64::from(rng.below(spread)) - half);
                let size = f64::from(1 + rng.below(largest));
                ring(rng, x, y, size)
            })
            .collect();
        Polygon::new(shell, holes)
    }

    /// The indexed checks must give geo's own verdict, first problem and message included, on
    /// every polygon: here thousands of small ones, valid and invalid in every way geo knows.
    #[test]
    fn the_indexed_checks_agree_with_geo() {
        let mut rng = Lcg(8);
        let mut valid_polygons = Vec::new();
        let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
        for _ in 0..6000 {
            let p = random_polygon(&mut rng);
            let ours = polygon_problem(&p, "").unwrap();
            assert_eq!(ours, p.check_validation().err(), "{p:?}");
            let kind =
                ours.as_ref().map_or("valid".to_owned(), |e| format!("{e:?}").split('(').next().unwrap().to_owned());
            *verdicts.entry(kind).or_default() += 1;
            if ours.is_none() {
                valid_polygons.push(p);
            }
        }
        // Every kind of problem came up, and valid polygons too, or the test proves little.
        assert!(verdicts.len() >= 6, "{verdicts:?}");
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for _ in 0..3000 {
            let parts = (0..2 + rng.below(3))
                .map(|_| {
                    let mut p =
                        valid_polygons[rng.below(u32::try_from(valid_polygons.len()).unwrap()) as usize].clone();
                    let (dx, dy) = (f64::from(rng.below(5)) * 4.0, f64::from(rng.below(5)) * 4.0);
                    p.exterior_mut(|r| r.0.iter_mut().for_each(|c| *c = Coord { x: c.x + dx, y: c.y + dy }));
                    p.interiors_mut(|rs| {
                        for r in rs.iter_mut() {
                            r.0.iter_mut().for_each(|c| *c = Coord { x: c.x + dx, y: c.y + dy });
                        }
                    });
                    p
                })
                .collect();
            let mp = MultiPolygon(parts);
            let ours = parts_problem(&mp);
            assert_eq!(ours, mp.check_validation().err(), "{mp:?}");
            let kind = ours.map_or("valid".to_owned(), |e| format!("{e:?}").split('(').next().unwrap().to_owned());
            *kinds.entry(kind).or_default() += 1;
        }
        assert_eq!(kinds.len(), 3, "overlapping, touching and valid multipolygons: {kinds:?}");
    }

    #[test]
    fn refuses_more_vertices_than_the_limit() {
        let n = MAX_VERTICES + 1;
        let ring: Vec<Coord<f64>> =
            (0..n).map(|i| Coord { x: 112.0 + f64::from(u32::try_from(i).unwrap()) * 1e-6, y: 35.0 }).collect();
        let g: Geometry<f64> = LineString(ring).into();
        assert_eq!(check_size(&g), Err(GeoError::TooManyVertices { count: n, max: MAX_VERTICES }));
        assert_eq!(check_size(&square(112.0, 35.0, 0.1).into()), Ok(()));
    }

    /// Thousands of spikes from one spot: every edge's box overlaps every other's, so the
    /// index cannot narrow anything; refused instead of taking quadratic time.
    #[test]
    fn refuses_a_ring_that_defeats_the_index() {
        let n = 20_000;
        let mut ring: Vec<Coord<f64>> = (0..n)
            .map(|i| {
                let angle = std::f64::consts::TAU * f64::from(i) / f64::from(n);
                let radius = if i % 2 == 0 { 0.1 } else { 0.001 };
                Coord { x: 112.5 + radius * angle.cos(), y: 35.5 + radius * angle.sin() }
            })
            .collect();
        ring.push(ring[0]);
        let g: Geometry<f64> = Polygon::new(LineString(ring), vec![]).into();
        assert_eq!(check_valid(&g), Err(GeoError::TooIntricate("coordinates[0]".to_owned())));
    }
}
