//! Checks on geometries that people send (planners' imports, the console's drawing tool)
//! before they are stored. Two separate checks because they fail for different reasons:
//! [`check_coordinates`] catches numbers that are not a place on Earth (often swapped lon/lat
//! or a projected CRS sent as degrees); [`check_valid`] catches shapes that PostGIS and the
//! coverage queries cannot use (open rings, bow-ties, empty parts).
//!
//! Locations in messages are GeoJSON member paths (`coordinates[0][3]`,
//! `geometries[1].coordinates`), the same ones [`crate::geojson_io`] uses, so a client can find
//! the culprit in what it sent.

use geo::{Coord, Geometry, HasDimensions, LineString, Polygon, Validation};

use crate::GeoError;

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
        return Some(format!(
            "[{}, {}] is not a pair of finite numbers",
            c.x, c.y
        ));
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
        Some(format!(
            "longitude {} is outside [-180, 180]{swap_hint}",
            c.x
        ))
    } else if !lat_ok {
        Some(format!("latitude {} is outside [-90, 90]{swap_hint}", c.y))
    } else {
        None
    }
}

fn check_coord(c: Coord<f64>, location: impl FnOnce() -> String) -> Result<(), GeoError> {
    match coordinate_problem(c) {
        None => Ok(()),
        Some(reason) => Err(GeoError::Coordinate {
            location: location(),
            reason,
        }),
    }
}

fn check_sequence(coords: &[Coord<f64>], path: &str) -> Result<(), GeoError> {
    coords
        .iter()
        .enumerate()
        .try_for_each(|(i, c)| check_coord(*c, || format!("{path}[{i}]")))
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
        Geometry::MultiPoint(mp) => mp
            .iter()
            .enumerate()
            .try_for_each(|(i, p)| check_coord(p.0, || format!("{path}[{i}]"))),
        Geometry::Line(l) => check_sequence(&[l.start, l.end], &path),
        Geometry::LineString(ls) => check_sequence(&ls.0, &path),
        Geometry::MultiLineString(mls) => mls
            .iter()
            .enumerate()
            .try_for_each(|(i, ls)| check_sequence(&ls.0, &format!("{path}[{i}]"))),
        Geometry::Polygon(p) => check_rings(p, &path),
        Geometry::Rect(r) => check_rings(&r.to_polygon(), &path),
        Geometry::Triangle(t) => check_rings(&t.to_polygon(), &path),
        Geometry::MultiPolygon(mp) => mp
            .iter()
            .enumerate()
            .try_for_each(|(i, p)| check_rings(p, &format!("{path}[{i}]"))),
        Geometry::GeometryCollection(gc) => gc
            .iter()
            .enumerate()
            .try_for_each(|(i, g)| check_coordinates_at(g, &format!("{prefix}geometries[{i}]."))),
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
        return Err(GeoError::Invalid(format!(
            "{path} is not closed: its last position must repeat its first"
        )));
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
    p.check_validation()
        .map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
}

fn check_valid_at(g: &Geometry<f64>, prefix: &str) -> Result<(), GeoError> {
    let path = format!("{prefix}coordinates");
    match g {
        Geometry::Polygon(p) => check_polygon(p, &path),
        Geometry::MultiPolygon(mp) => {
            if mp.0.is_empty() {
                return Err(GeoError::Empty(path));
            }
            mp.iter()
                .enumerate()
                .try_for_each(|(i, p)| check_polygon(p, &format!("{path}[{i}]")))?;
            // Each part is valid; what remains is how parts relate (overlap, shared edges).
            mp.check_validation()
                .map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
        }
        Geometry::MultiLineString(mls) => {
            if let Some(i) = mls.iter().position(|ls| ls.0.is_empty()) {
                return Err(GeoError::Empty(format!("{path}[{i}]")));
            }
            mls.check_validation()
                .map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
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
            other
                .check_validation()
                .map_err(|e| GeoError::Invalid(format!("{path}: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{GeometryCollection, MultiLineString, MultiPolygon, line_string, point, polygon};

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
        assert!(
            check_coordinates(&g)
                .unwrap_err()
                .to_string()
                .contains("longitude 12481000 is outside [-180, 180]")
        );
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
            LineString(vec![
                Coord { x: 112.0, y: 35.0 },
                Coord { x: 112.1, y: 35.0 },
                Coord { x: 112.0, y: 35.0 },
            ]),
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
        assert!(
            check_valid(&g)
                .unwrap_err()
                .to_string()
                .contains("not contained within the polygon's exterior")
        );
    }

    #[test]
    fn refuses_overlapping_parts() {
        let g: Geometry<f64> =
            MultiPolygon(vec![square(112.0, 35.0, 0.1), square(112.05, 35.05, 0.1)]).into();
        assert_eq!(
            check_valid(&g).unwrap_err().to_string(),
            "invalid geometry: coordinates: polygons at indices 0 and 1 overlap"
        );
    }

    #[test]
    fn refuses_empty_geometries_and_parts() {
        let empty = MultiPolygon::<f64>(vec![]).into();
        assert_eq!(
            check_valid(&empty),
            Err(GeoError::Empty("the geometry".to_owned()))
        );
        let part = MultiPolygon(vec![
            square(112.0, 35.0, 0.1),
            Polygon::new(LineString(vec![]), vec![]),
        ])
        .into();
        assert_eq!(
            check_valid(&part),
            Err(GeoError::Empty("coordinates[1]".to_owned()))
        );
        let lines = MultiLineString(vec![
            line_string![(x: 112.0, y: 35.0), (x: 112.1, y: 35.0)],
            LineString(vec![]),
        ])
        .into();
        assert_eq!(
            check_valid(&lines),
            Err(GeoError::Empty("coordinates[1]".to_owned()))
        );
        let collection = Geometry::GeometryCollection(GeometryCollection(vec![
            point!(x: 112.0, y: 35.0).into(),
            MultiPolygon::<f64>(vec![]).into(),
        ]));
        assert_eq!(
            check_valid(&collection),
            Err(GeoError::Empty("geometries[1].coordinates".to_owned()))
        );
    }

    #[test]
    fn polygon_with_a_proper_hole_is_valid() {
        let outer = square(112.0, 35.0, 0.1);
        let hole = square(112.02, 35.02, 0.01).exterior().clone();
        let g: Geometry<f64> = Polygon::new(outer.exterior().clone(), vec![hole]).into();
        assert_eq!(check_valid(&g), Ok(()));
    }
}
