//! Reading the files other offices send: GeoJSON, CSV (lon/lat columns or a
//! WKT column; UTF-8 or GBK/GB18030), XLSX (the first sheet) and zipped
//! shapefiles (coordinate system from the `.prj`, encoding from the `.cpg`,
//! GBK when there is none). Each gives rows of named text fields and, where
//! the file itself has one, a geometry; the row's line (or record) number is
//! kept for the report. Nothing here knows the database.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use encoding_rs::Encoding;
use geo::{Coord, Geometry, Point};

/// The kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Geojson,
    Csv,
    Xlsx,
    /// A zip holding `.shp`, `.dbf` (and `.shx`, `.prj`, `.cpg`).
    Shapefile,
}

impl Format {
    /// From the file's first bytes (and name, for a CSV).
    pub fn sniff(bytes: &[u8], name: Option<&str>) -> Option<Self> {
        let extension = name
            .and_then(|n| std::path::Path::new(n).extension())
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if bytes.starts_with(b"PK\x03\x04") {
            // Both are zips: an XLSX has its workbook inside.
            let zipped = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
            return Some(if zipped.file_names().filter_map(Result::ok).any(|n| n.starts_with("xl/")) {
                Self::Xlsx
            } else {
                Self::Shapefile
            });
        }
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let first = text.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') || extension == "geojson" || extension == "json" {
            return Some(Self::Geojson);
        }
        Some(Self::Csv)
    }
}

/// One row of the file: its line (CSV, XLSX: the line in the sheet, header
/// being line 1; GeoJSON, shapefile: the feature's number from 1), its fields
/// as text, and the geometry the file gave it (lon/lat or WKT columns are read
/// later, by the mapping).
#[derive(Debug, Clone)]
pub struct RawRow {
    pub line: usize,
    pub fields: BTreeMap<String, String>,
    /// `Some(Err)`: the file had a geometry that could not be read.
    pub geometry: Option<Result<Geometry<f64>, String>>,
}

/// What the file said about itself.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileFacts {
    pub format: Option<Format>,
    /// The text encoding used (`UTF-8`, `GBK`, `gb18030` …).
    pub encoding: Option<String>,
    /// The `.prj`'s coordinate system, when it named one.
    pub prj: Option<String>,
    pub columns: Vec<String>,
}

/// A file that cannot be read at all: nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn unreadable(what: impl std::fmt::Display) -> Unreadable {
    Unreadable(what.to_string())
}

/// Text in `encoding`, or detected: UTF-8 when it is valid UTF-8, else GB18030
/// (a superset of GBK and GB2312, what Chinese Excel and WPS write).
pub fn decode(bytes: &[u8], encoding: Option<&'static Encoding>) -> (String, &'static Encoding) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let encoding = encoding
        .unwrap_or_else(|| if std::str::from_utf8(bytes).is_ok() { encoding_rs::UTF_8 } else { encoding_rs::GB18030 });
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding)
}

/// Reads every row of a file.
pub fn read(
    bytes: &[u8],
    format: Format,
    encoding: Option<&'static Encoding>,
) -> Result<(Vec<RawRow>, FileFacts), Unreadable> {
    let mut facts = FileFacts { format: Some(format), ..FileFacts::default() };
    let rows = match format {
        Format::Geojson => geojson(bytes, &mut facts)?,
        Format::Csv => csv(bytes, encoding, &mut facts)?,
        Format::Xlsx => xlsx(bytes, &mut facts)?,
        Format::Shapefile => shapefile(bytes, encoding, &mut facts)?,
    };
    Ok((rows, facts))
}

fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn geojson(bytes: &[u8], facts: &mut FileFacts) -> Result<Vec<RawRow>, Unreadable> {
    let (text, encoding) = decode(bytes, Some(encoding_rs::UTF_8));
    facts.encoding = Some(encoding.name().into());
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| unreadable(format!("not JSON: {e}")))?;
    let features = match doc.get("type").and_then(|t| t.as_str()) {
        Some("FeatureCollection") => doc["features"].as_array().cloned().unwrap_or_default(),
        Some("Feature") => vec![doc.clone()],
        _ => return Err(unreadable("a GeoJSON FeatureCollection (or Feature) was expected")),
    };
    let mut columns = std::collections::BTreeSet::new();
    let rows = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut fields = BTreeMap::new();
            if let Some(props) = f.get("properties").and_then(|p| p.as_object()) {
                for (k, v) in props {
                    columns.insert(k.clone());
                    if let Some(t) = value_text(v) {
                        fields.insert(k.clone(), t);
                    }
                }
            }
            if let Some(id) = f.get("id").and_then(value_text) {
                fields.entry("id".into()).or_insert(id);
            }
            let geometry = match f.get("geometry") {
                None | Some(serde_json::Value::Null) => None,
                Some(g) => Some(fieldvisit_geodata::geojson_io::geometry_from_geojson(g).map_err(|e| e.to_string())),
            };
            RawRow { line: i + 1, fields, geometry }
        })
        .collect();
    facts.columns = columns.into_iter().collect();
    Ok(rows)
}

fn csv(bytes: &[u8], encoding: Option<&'static Encoding>, facts: &mut FileFacts) -> Result<Vec<RawRow>, Unreadable> {
    let (text, encoding) = decode(bytes, encoding);
    facts.encoding = Some(encoding.name().into());
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(|e| unreadable(format!("the CSV header: {e}")))?.iter().map(str::to_owned).collect();
    if headers.iter().all(String::is_empty) {
        return Err(unreadable("the CSV has no header row"));
    }
    facts.columns.clone_from(&headers);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(format!("the CSV: {e}")))?;
        let line = usize::try_from(record.position().map_or(0, csv::Position::line)).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let fields = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        rows.push(RawRow { line, fields, geometry: None });
    }
    Ok(rows)
}

fn xlsx(bytes: &[u8], facts: &mut FileFacts) -> Result<Vec<RawRow>, Unreadable> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(format!("not an XLSX workbook: {e}")))?;
    let sheet = book.sheet_names().first().cloned().ok_or_else(|| unreadable("the workbook has no sheet"))?;
    let range = book.worksheet_range(&sheet).map_err(|e| unreadable(format!("sheet {sheet}: {e}")))?;
    let start_row = usize::try_from(range.start().map_or(0, |(r, _)| r)).unwrap_or(0);
    let mut lines = range.rows();
    let text = |c: &Data| -> Option<String> {
        match c {
            Data::Empty => None,
            Data::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
            other => Some(other.to_string()),
        }
    };
    let headers: Vec<String> = lines
        .next()
        .ok_or_else(|| unreadable(format!("sheet {sheet} is empty")))?
        .iter()
        .map(|c| text(c).unwrap_or_default())
        .collect();
    facts.columns.clone_from(&headers);
    facts.encoding = Some("UTF-8".into());
    let mut rows = Vec::new();
    for (i, cells) in lines.enumerate() {
        let fields: BTreeMap<String, String> = headers
            .iter()
            .zip(cells.iter())
            .filter_map(|(h, c)| Some((h.clone(), text(c)?)))
            .filter(|(h, _)| !h.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        // 1-based, the header being the first line of the used range.
        rows.push(RawRow { line: start_row + i + 2, fields, geometry: None });
    }
    Ok(rows)
}

/// The one file in the zip with this extension (any folder, any case).
fn member(zipped: &mut zip::ZipArchive<Cursor<&[u8]>>, ext: &str) -> Result<Option<Vec<u8>>, Unreadable> {
    let names: Vec<String> = zipped
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.to_lowercase().ends_with(ext) && !n.starts_with("__MACOSX"))
        .map(std::borrow::Cow::into_owned)
        .collect();
    match names.as_slice() {
        [] => Ok(None),
        [one] => {
            let mut f = zipped.by_name(one).map_err(unreadable)?;
            let mut out = Vec::new();
            f.read_to_end(&mut out).map_err(|e| unreadable(format!("{one}: {e}")))?;
            Ok(Some(out))
        }
        _ => Err(unreadable(format!("the zip holds more than one {ext} file; send one shapefile per zip"))),
    }
}

fn shapefile(
    bytes: &[u8],
    encoding: Option<&'static Encoding>,
    facts: &mut FileFacts,
) -> Result<Vec<RawRow>, Unreadable> {
    use shapefile::dbase::{self, FieldValue};
    let mut zipped = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(format!("not a zip: {e}")))?;
    let shp = member(&mut zipped, ".shp")?.ok_or_else(|| unreadable("the zip holds no .shp file"))?;
    let dbf = member(&mut zipped, ".dbf")?.ok_or_else(|| unreadable("the zip holds no .dbf file"))?;
    let shx = member(&mut zipped, ".shx")?;
    facts.prj = member(&mut zipped, ".prj")?.map(|p| String::from_utf8_lossy(&p).trim().to_owned());
    // The encoding of the attributes: as asked, else the .cpg's, else GBK (what Chinese GIS offices write).
    let cpg = member(&mut zipped, ".cpg")?
        .map(|c| String::from_utf8_lossy(&c).trim().trim_start_matches('\u{feff}').to_owned());
    let encoding = encoding
        .or_else(|| cpg.as_deref().and_then(|c| Encoding::for_label(c.as_bytes())))
        .or_else(|| {
            cpg.as_deref().filter(|c| matches!(c.to_uppercase().as_str(), "936" | "CP936")).map(|_| encoding_rs::GBK)
        })
        .unwrap_or(encoding_rs::GBK);
    facts.encoding = Some(encoding.name().into());
    let shapes = match shx {
        Some(index) => shapefile::ShapeReader::with_shx(Cursor::new(shp), Cursor::new(index)),
        None => shapefile::ShapeReader::new(Cursor::new(shp)),
    }
    .map_err(|e| unreadable(format!("the .shp: {e}")))?;
    let records = dbase::Reader::new_with_encoding(Cursor::new(dbf), dbase::encoding::EncodingRs::from(encoding))
        .map_err(|e| unreadable(format!("the .dbf: {e}")))?;
    facts.columns = records.fields().iter().map(|f| f.name().to_owned()).collect();
    let mut reader = shapefile::Reader::new(shapes, records);
    let mut rows = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(|e| unreadable(format!("record {}: {e}", i + 1)))?;
        let mut fields = BTreeMap::new();
        for (name, value) in record {
            let text = match value {
                FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Some(s.trim().to_owned()),
                FieldValue::Numeric(Some(n)) => Some(if n.fract() == 0.0 { format!("{n:.0}") } else { n.to_string() }),
                FieldValue::Float(Some(n)) => Some(n.to_string()),
                FieldValue::Integer(n) => Some(n.to_string()),
                FieldValue::Double(n) => Some(n.to_string()),
                FieldValue::Logical(Some(b)) => Some(b.to_string()),
                FieldValue::Date(Some(d)) => Some(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
                _ => None,
            };
            if let Some(t) = text.filter(|t| !t.is_empty()) {
                fields.insert(name, t);
            }
        }
        let geometry = match shape {
            shapefile::Shape::NullShape => None,
            other => Some(Geometry::<f64>::try_from(other).map_err(|e| format!("the shape: {e:?}"))),
        };
        rows.push(RawRow { line: i + 1, fields, geometry });
    }
    Ok(rows)
}

/// A point from two text fields, or `None` when either is absent.
pub fn point_from(lon: Option<&str>, lat: Option<&str>) -> Option<Result<Geometry<f64>, String>> {
    let (lon, lat) = (lon?, lat?);
    let parse = |s: &str, what: &str| s.trim().parse::<f64>().map_err(|_| format!("{what} {s:?} is not a number"));
    Some(match (parse(lon, "longitude"), parse(lat, "latitude")) {
        (Ok(x), Ok(y)) => Ok(Geometry::Point(Point(Coord { x, y }))),
        (Err(e), _) | (_, Err(e)) => Err(e),
    })
}

/// A geometry from WKT text.
pub fn from_wkt(text: &str) -> Result<Geometry<f64>, String> {
    use std::str::FromStr;
    let parsed = wkt::Wkt::<f64>::from_str(text.trim()).map_err(|e| format!("not WKT: {e}"))?;
    Geometry::try_from(parsed).map_err(|e| format!("WKT: {e}"))
}
