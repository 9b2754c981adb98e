//! Geometry across the API boundary: GeoJSON geometry objects (RFC 7946) to `geo` types and
//! back.
//!
//! Reading is hand-written rather than done with the `geojson` crate so that every refusal
//! names the exact member at fault (`coordinates[0][3] must be a position [lon, lat] …`): the
//! people who send these are planners importing files and app developers, and a generic
//! "invalid type: string" does not tell them where to look. Range and validity checks are not
//! done here; see [`crate::validate`].

use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, Point};
use geo::{MultiPolygon, Polygon};
use serde_json::{Map, Value, json};

use crate::{GeoError, round7};

const GEOMETRY_TYPES: &str =
    "Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon, GeometryCollection";

/// Read a GeoJSON geometry object. Members other than `type`, `coordinates` and
/// `geometries` (e.g. `bbox`, `crs`, `properties`) are ignored; a third value in a position
/// (altitude) is dropped.
pub fn geometry_from_geojson(v: &Value) -> Result<Geometry<f64>, GeoError> {
    read_geometry(v, "")
}

/// Write `g` as a GeoJSON geometry object, coordinates rounded to 7 decimals (~1 cm), which is
/// finer than any phone's fix and keeps payloads short. `Rect` and `Triangle` become
/// `Polygon`s and `Line` a `LineString`, as GeoJSON has no such types.
pub fn geometry_to_geojson(g: &Geometry<f64>) -> Value {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": position(p.0)}),
        Geometry::MultiPoint(mp) => json!({
            "type": "MultiPoint",
            "coordinates": mp.iter().map(|p| position(p.0)).collect::<Vec<_>>(),
        }),
        Geometry::Line(l) => json!({
            "type": "LineString",
            "coordinates": [position(l.start), position(l.end)],
        }),
        Geometry::LineString(ls) => json!({"type": "LineString", "coordinates": positions(ls)}),
        Geometry::MultiLineString(mls) => json!({
            "type": "MultiLineString",
            "coordinates": mls.iter().map(positions).collect::<Vec<_>>(),
        }),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": rings(p)}),
        Geometry::Rect(r) => json!({"type": "Polygon", "coordinates": rings(&r.to_polygon())}),
        Geometry::Triangle(t) => {
            json!({"type": "Polygon", "coordinates": rings(&t.to_polygon())})
        }
        Geometry::MultiPolygon(mp) => json!({
            "type": "MultiPolygon",
            "coordinates": mp.iter().map(rings).collect::<Vec<_>>(),
        }),
        Geometry::GeometryCollection(gc) => json!({
            "type": "GeometryCollection",
            "geometries": gc.iter().map(geometry_to_geojson).collect::<Vec<_>>(),
        }),
    }
}

fn position(c: Coord<f64>) -> Value {
    json!([round7(c.x), round7(c.y)])
}

fn positions(ls: &LineString<f64>) -> Vec<Value> {
    ls.coords().map(|c| position(*c)).collect()
}

fn rings(p: &Polygon<f64>) -> Vec<Vec<Value>> {
    std::iter::once(p.exterior()).chain(p.interiors()).map(positions).collect()
}

fn invalid(message: String) -> GeoError {
    GeoError::GeoJson(message)
}

/// A short rendering of a value for messages, so a 10 MB array is not echoed back.
fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}

fn read_geometry(v: &Value, prefix: &str) -> Result<Geometry<f64>, GeoError> {
    let what = if prefix.is_empty() { "the geometry".to_owned() } else { prefix.trim_end_matches('.').to_owned() };
    let Value::Object(object) = v else {
        return Err(invalid(format!(
            "{what} must be a GeoJSON geometry object such as \
             {{\"type\": \"Point\", \"coordinates\": [112.13, 35.15]}}, got {}",
            show(v)
        )));
    };
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        return Err(invalid(format!("{prefix}type is missing or not a string; expected one of {GEOMETRY_TYPES}")));
    };
    if kind == "GeometryCollection" {
        return read_collection(object, prefix);
    }
    if kind == "Feature" || kind == "FeatureCollection" {
        return Err(invalid(format!(
            "{what} is a {kind}, expected a geometry object ({GEOMETRY_TYPES}); \
             send the feature's \"geometry\" member"
        )));
    }
    let path = format!("{prefix}coordinates");
    let coordinates = object
        .get("coordinates")
        .ok_or_else(|| invalid(format!("{path} is missing; a {kind} needs its coordinates")))?;
    Ok(match kind {
        "Point" => Geometry::Point(Point(read_position(coordinates, &path)?)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            read_positions(coordinates, &path, "positions")?.into_iter().map(Point).collect(),
        )),
        "LineString" => Geometry::LineString(read_line_string(coordinates, &path)?),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            read_array(coordinates, &path, "line strings")?
                .iter()
                .enumerate()
                .map(|(i, ls)| read_line_string(ls, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        "Polygon" => Geometry::Polygon(read_polygon(coordinates, &path)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            read_array(coordinates, &path, "polygons")?
                .iter()
                .enumerate()
                .map(|(i, p)| read_polygon(p, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        other => {
            return Err(invalid(format!(
                "{prefix}type \"{other}\" is not a GeoJSON geometry type; \
                 expected one of {GEOMETRY_TYPES}"
            )));
        }
    })
}

fn read_collection(object: &Map<String, Value>, prefix: &str) -> Result<Geometry<f64>, GeoError> {
    let path = format!("{prefix}geometries");
    let members =
        object.get("geometries").ok_or_else(|| invalid(format!("{path} is missing; a GeometryCollection needs it")))?;
    let members = read_array(members, &path, "geometry objects")?;
    let geometries = members
        .iter()
        .enumerate()
        .map(|(i, g)| read_geometry(g, &format!("{path}[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Geometry::GeometryCollection(GeometryCollection(geometries)))
}

fn read_array<'v>(v: &'v Value, path: &str, of: &str) -> Result<&'v Vec<Value>, GeoError> {
    v.as_array().ok_or_else(|| invalid(format!("{path} must be an array of {of}, got {}", show(v))))
}

fn read_position(v: &Value, path: &str) -> Result<Coord<f64>, GeoError> {
    let refuse = || {
        let hint = match v {
            Value::Number(_) => " (one level of [ ] missing?)",
            Value::Array(a) if a.iter().any(Value::is_array) => " (one level of [ ] too many?)",
            _ => "",
        };
        invalid(format!("{path} must be a position [lon, lat] of two numbers, got {}{hint}", show(v)))
    };
    let Some(values) = v.as_array() else {
        return Err(refuse());
    };
    // RFC 7946 allows altitude (and more) after lon, lat; we keep 2D but insist the extra
    // members are numbers, so a swapped nesting level is not silently accepted.
    if values.len() < 2 || values.iter().any(|n| !n.is_number()) {
        return Err(refuse());
    }
    match (values[0].as_f64(), values[1].as_f64()) {
        (Some(x), Some(y)) => Ok(Coord { x, y }),
        _ => Err(refuse()),
    }
}

fn read_positions(v: &Value, path: &str, of: &str) -> Result<Vec<Coord<f64>>, GeoError> {
    read_array(v, path, of)?.iter().enumerate().map(|(i, p)| read_position(p, &format!("{path}[{i}]"))).collect()
}

fn read_line_string(v: &Value, path: &str) -> Result<LineString<f64>, GeoError> {
    let coords = read_positions(v, path, "positions")?;
    if coords.len() < 2 {
        return Err(invalid(format!("{path} must have at least 2 positions, got {}", coords.len())));
    }
    Ok(LineString(coords))
}

fn read_polygon(v: &Value, path: &str) -> Result<Polygon<f64>, GeoError> {
    let rings = read_array(v, path, "linear rings (arrays of positions)")?;
    let mut rings = rings
        .iter()
        .enumerate()
        .map(|(i, ring)| read_ring(ring, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter();
    // An empty coordinates array is an empty polygon; validation decides whether that is
    // acceptable where it is used.
    let exterior = rings.next().unwrap_or_else(|| LineString(Vec::new()));
    Ok(Polygon::new(exterior, rings.collect()))
}

fn read_ring(v: &Value, path: &str) -> Result<LineString<f64>, GeoError> {
    let coords = read_positions(v, path, "positions")?;
    if coords.len() < 4 {
        return Err(invalid(format!(
            "{path} is a linear ring and needs at least 4 positions \
             (3 corners and the first repeated at the end), got {}",
            coords.len()
        )));
    }
    if coords.first() != coords.last() {
        return Err(invalid(format!("{path} is not closed: its last position must repeat its first")));
    }
    Ok(LineString(coords))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, point, polygon};

    fn message(v: &Value) -> String {
        match geometry_from_geojson(v) {
            Err(GeoError::GeoJson(m)) => m,
            other => panic!("expected a GeoJSON error, got {other:?}"),
        }
    }

    #[test]
    fn reads_every_geometry_type() {
        let point = json!({"type": "Point", "coordinates": [112.13, 35.15, 420.0]});
        assert_eq!(geometry_from_geojson(&point).unwrap(), Geometry::Point(point!(x: 112.13, y: 35.15)));
        let line = json!({"type": "LineString", "coordinates": [[112.1, 35.1], [112.2, 35.2]]});
        assert_eq!(
            geometry_from_geojson(&line).unwrap(),
            Geometry::LineString(line_string![(x: 112.1, y: 35.1), (x: 112.2, y: 35.2)])
        );
        let polygon = json!({"type": "Polygon", "coordinates": [
            [[112.1, 35.1], [112.2, 35.1], [112.2, 35.2], [112.1, 35.1]],
            [[112.15, 35.11], [112.19, 35.11], [112.19, 35.15], [112.15, 35.11]],
        ]});
        let Geometry::Polygon(p) = geometry_from_geojson(&polygon).unwrap() else { panic!("not a polygon") };
        assert_eq!(p.interiors().len(), 1);
        for v in [
            json!({"type": "MultiPoint", "coordinates": [[112.1, 35.1], [112.2, 35.2]]}),
            json!({"type": "MultiLineString", "coordinates": [[[112.1, 35.1], [112.2, 35.2]]]}),
            json!({"type": "MultiPolygon", "coordinates": [
                [[[112.1, 35.1], [112.2, 35.1], [112.2, 35.2], [112.1, 35.1]]]
            ]}),
            json!({"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [112.13, 35.15]}, line, polygon
            ]}),
        ] {
            let g = geometry_from_geojson(&v).unwrap();
            assert_eq!(geometry_to_geojson(&g), v.clone(), "round trip of {v}");
        }
    }

    #[test]
    fn ignores_foreign_members() {
        // The demo boundary file carries `properties` on a bare geometry.
        let v = json!({
            "type": "Point", "coordinates": [112.0, 35.0],
            "properties": {"adcode": "419001"}, "bbox": [112.0, 35.0, 112.0, 35.0]
        });
        assert!(geometry_from_geojson(&v).is_ok());
    }

    #[test]
    fn names_the_position_that_is_not_lon_lat() {
        let v = json!({"type": "Polygon", "coordinates": [
            [[112.1, 35.1], [112.2, 35.1], [112.2, 35.2], ["112.1", 35.1], [112.1, 35.1]]
        ]});
        assert_eq!(message(&v), "coordinates[0][3] must be a position [lon, lat] of two numbers, got [\"112.1\",35.1]");
        let v = json!({"type": "Point", "coordinates": [112.1]});
        assert!(message(&v).starts_with("coordinates must be a position [lon, lat]"));
    }

    #[test]
    fn refuses_wrong_nesting() {
        let v = json!({"type": "Polygon", "coordinates": [[112.1, 35.1], [112.2, 35.1]]});
        assert_eq!(
            message(&v),
            "coordinates[0][0] must be a position [lon, lat] of two numbers, got 112.1 \
             (one level of [ ] missing?)"
        );
        let v = json!({"type": "Point", "coordinates": [[112.1, 35.1]]});
        assert!(message(&v).ends_with("(one level of [ ] too many?)"));
        let v = json!({"type": "MultiPolygon", "coordinates": {"0": []}});
        assert_eq!(message(&v), "coordinates must be an array of polygons, got {\"0\":[]}");
    }

    #[test]
    fn refuses_open_or_short_rings() {
        let open = json!({"type": "Polygon", "coordinates": [
            [[112.1, 35.1], [112.2, 35.1], [112.2, 35.2], [112.1, 35.2]]
        ]});
        assert_eq!(message(&open), "coordinates[0] is not closed: its last position must repeat its first");
        let short = json!({"type": "Polygon", "coordinates": [
            [[112.1, 35.1], [112.2, 35.1], [112.1, 35.1]]
        ]});
        assert!(message(&short).contains("coordinates[0] is a linear ring and needs at least 4"));
    }

    #[test]
    fn refuses_unknown_types_and_features() {
        assert!(
            message(&json!({"type": "Circle", "coordinates": [1, 2]}))
                .starts_with("type \"Circle\" is not a GeoJSON geometry type")
        );
        assert!(
            message(&json!({"type": "Feature", "geometry": null, "properties": {}}))
                .contains("send the feature's \"geometry\" member")
        );
        assert!(message(&json!({"coordinates": [1, 2]})).starts_with("type is missing"));
        assert!(message(&json!({"type": "Point"})).starts_with("coordinates is missing"));
        assert!(message(&json!([112.1, 35.1])).starts_with("the geometry must be a GeoJSON"));
        assert_eq!(
            message(&json!({"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [112.1, "x"]}
            ]})),
            "geometries[0].coordinates must be a position [lon, lat] of two numbers, got [112.1,\"x\"]"
        );
    }

    #[test]
    fn output_is_rounded_to_seven_decimals() {
        let g = Geometry::Point(point!(x: 112.123_456_789_1, y: -0.000_000_01));
        assert_eq!(geometry_to_geojson(&g), json!({"type": "Point", "coordinates": [112.123_456_8, 0.0]}));
        let p = polygon![
            (x: 112.100_000_04, y: 35.1), (x: 112.2, y: 35.1), (x: 112.2, y: 35.2),
        ];
        assert_eq!(geometry_to_geojson(&p.into())["coordinates"][0][0], json!([112.1, 35.1]));
    }
}
