//! Places imported from files (`place.import.v1`): enterprise registers in
//! Excel, grid maps as shapefiles, project lists as CSV, GeoJSON. The command
//! line (`fieldvisit import places`) and `POST /v1/places/import` both call
//! [`run`]. Rows match on (source, external id) and are updated in place;
//! unchanged rows keep their version; every row that is not taken is
//! reported with its line and reason; all rows commit together or not at
//! all, and a dry run changes nothing.
//!
//! Coordinates: `wgs84`, `gcj02` (AMap, Tencent), `bd09` (Baidu) and
//! `cgcs2000`, China's geodetic datum, which equals WGS84 within centimetres
//! at a township's scale (both are ITRF-based; the offset is far below a GPS
//! fix's error), so it is read as WGS84.

pub mod read;

use std::collections::{BTreeMap, HashSet};

use fieldvisit_geodata::crs::Crs;
use fieldvisit_geodata::{validate, wkb};
use geo::Geometry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use read::{FileFacts, Format, RawRow, Unreadable};

use super::PlaceKind;
use crate::SyncError;
use crate::command::{Applied, Command};

/// The coordinate system of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileCrs {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
    /// China Geodetic Coordinate System 2000: read as WGS84 (centimetres apart).
    Cgcs2000,
}

impl FileCrs {
    fn crs(self) -> Crs {
        match self {
            Self::Wgs84 | Self::Cgcs2000 => Crs::Wgs84,
            Self::Gcj02 => Crs::Gcj02,
            Self::Bd09 => Crs::Bd09,
        }
    }
}

/// Which column holds what; `None` takes the first of the usual names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub address: Option<String>,
    /// A station's code or name; absent: the station whose service area holds the place.
    pub station: Option<String>,
    pub kind: Option<String>,
    pub lon: Option<String>,
    pub lat: Option<String>,
    pub wkt: Option<String>,
    /// Columns kept as attributes; absent: every column not mapped above.
    pub attributes: Option<Vec<String>>,
}

const NAMES: &[&str] = &["name", "名称", "企业名称", "单位名称", "网格名称", "项目名称", "NAME", "MC"];
const EXTERNAL_IDS: &[&str] = &["external_id", "id", "编号", "统一社会信用代码", "code", "ID", "BH"];
const ADDRESSES: &[&str] = &["address", "地址", "详细地址", "ADDRESS", "DZ"];
const STATIONS: &[&str] = &["station", "联络站", "station_code", "STATION"];
const KINDS: &[&str] = &["kind", "类型", "KIND"];
const LONS: &[&str] = &["lon", "lng", "longitude", "经度", "x", "LON", "X"];
const LATS: &[&str] = &["lat", "latitude", "纬度", "y", "LAT", "Y"];
const WKTS: &[&str] = &["wkt", "WKT", "geometry", "geom"];

/// What an import is asked to do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Where the rows come from (e.g. `市场监管局企业名录`); rows match on (source, external id).
    pub source: String,
    #[serde(default)]
    pub crs: FileCrs,
    /// The kind of every row, unless a kind column says otherwise.
    pub kind: Option<PlaceKind>,
    #[serde(default)]
    pub mapping: Mapping,
    /// Count and check everything, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Retire this source's places absent from the file (a full re-import); their assignments end.
    #[serde(default)]
    pub deactivate_missing: bool,
    /// Repair invalid polygons with PostGIS `ST_MakeValid` instead of refusing them.
    #[serde(default)]
    pub repair: bool,
}

/// Why a row was not taken.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    pub line: usize,
    /// invalid_geometry, out_of_range, missing_geometry, missing_name,
    /// missing_external_id, duplicate_external_id, unknown_station,
    /// unknown_kind, wrong_shape.
    pub reason: &'static str,
    pub message: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub file: FileFacts,
    pub source: String,
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Lines whose polygon was invalid and repaired (`repair`).
    pub repaired: Vec<usize>,
    pub deactivated: usize,
    pub refused: Vec<Refusal>,
}

/// A row ready for the database (the station still by reference).
#[derive(Debug, Clone)]
struct Candidate {
    line: usize,
    external_id: String,
    name: String,
    kind: PlaceKind,
    address: Option<String>,
    station: Option<String>,
    attributes: Value,
    geometry: Geometry<f64>,
    repair: bool,
}

fn column<'a>(row: &'a RawRow, mapped: Option<&str>, usual: &[&str]) -> Option<&'a str> {
    match mapped {
        Some(c) => row.fields.get(c).map(String::as_str),
        None => usual.iter().find_map(|c| row.fields.get(*c)).map(String::as_str),
    }
    .map(str::trim)
    .filter(|v| !v.is_empty())
}

fn kind_of(text: &str) -> Option<PlaceKind> {
    match text.trim() {
        "grid_cell" | "网格" | "grid" => Some(PlaceKind::GridCell),
        "enterprise" | "企业" => Some(PlaceKind::Enterprise),
        "project_site" | "项目" | "项目工地" | "project" => Some(PlaceKind::ProjectSite),
        _ => None,
    }
}

/// The mapped columns, for leaving them out of the attributes.
fn mapped_columns(m: &Mapping, row: &RawRow) -> HashSet<String> {
    let pick = |mapped: &Option<String>, usual: &[&str]| -> Option<String> {
        mapped.clone().or_else(|| usual.iter().find(|c| row.fields.contains_key(**c)).map(|c| (*c).to_owned()))
    };
    [
        pick(&m.name, NAMES),
        pick(&m.external_id, EXTERNAL_IDS),
        pick(&m.address, ADDRESSES),
        pick(&m.station, STATIONS),
        pick(&m.kind, KINDS),
        pick(&m.lon, LONS),
        pick(&m.lat, LATS),
        pick(&m.wkt, WKTS),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Checks one row: the rules that need no database.
fn candidate(row: &RawRow, o: &ImportOptions) -> Result<Candidate, Refusal> {
    let refuse = |reason: &'static str, message: String| Refusal { line: row.line, reason, message };
    let m = &o.mapping;
    let name =
        column(row, m.name.as_deref(), NAMES).ok_or_else(|| refuse("missing_name", "the row has no name".into()))?;
    if name.chars().count() > 200 {
        return Err(refuse("missing_name", "the name is longer than 200 characters".into()));
    }
    let external_id = column(row, m.external_id.as_deref(), EXTERNAL_IDS)
        .ok_or_else(|| refuse("missing_external_id", "the row has no external id to match it on".into()))?;
    let kind = match column(row, m.kind.as_deref(), KINDS) {
        Some(k) => kind_of(k).ok_or_else(|| refuse("unknown_kind", format!("unknown kind {k:?}")))?,
        None => o.kind.ok_or_else(|| refuse("unknown_kind", "no kind given for the file or in the row".into()))?,
    };
    let geometry = match (&row.geometry, column(row, m.wkt.as_deref(), WKTS)) {
        (Some(g), _) => g.clone(),
        (None, Some(text)) => read::from_wkt(text),
        (None, None) => read::point_from(column(row, m.lon.as_deref(), LONS), column(row, m.lat.as_deref(), LATS))
            .ok_or_else(|| refuse("missing_geometry", "the row has no geometry, WKT or lon/lat".into()))?,
    }
    .map_err(|e| refuse("invalid_geometry", e))?;
    let mut geometry = geometry;
    validate::check_size(&geometry).map_err(|e| refuse("invalid_geometry", e.to_string()))?;
    validate::check_coordinates(&geometry).map_err(|e| refuse("out_of_range", e.to_string()))?;
    o.crs.crs().geometry_to_wgs84(&mut geometry);
    validate::check_coordinates(&geometry).map_err(|e| refuse("out_of_range", e.to_string()))?;
    let polygonal = matches!(geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_));
    let point = matches!(geometry, Geometry::Point(_));
    if !polygonal && (!point || kind == PlaceKind::GridCell) {
        return Err(refuse(
            "wrong_shape",
            "grid cells are polygons; enterprises and project sites are points or polygons".into(),
        ));
    }
    let repair = match validate::check_valid(&geometry) {
        Ok(()) => false,
        Err(e) if !o.repair => return Err(refuse("invalid_geometry", format!("{e} (import with repair to mend it)"))),
        Err(_) => true,
    };
    let skip = mapped_columns(m, row);
    let attributes: serde_json::Map<String, Value> = row
        .fields
        .iter()
        .filter(|(k, _)| match &m.attributes {
            Some(keep) => keep.contains(k),
            None => !skip.contains(*k),
        })
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Ok(Candidate {
        line: row.line,
        external_id: external_id.to_owned(),
        name: name.to_owned(),
        kind,
        address: column(row, m.address.as_deref(), ADDRESSES).map(str::to_owned),
        station: column(row, m.station.as_deref(), STATIONS).map(str::to_owned),
        attributes: Value::Object(attributes),
        geometry,
        repair,
    })
}

/// `place.import.v1`: the rows of one file.
#[derive(Debug, Clone)]
pub struct Import {
    pub options: ImportOptions,
    pub rows: Vec<RawRow>,
    pub file: FileFacts,
}

/// Reads a file as `options` say; an unreadable file is a 422 naming why.
pub fn prepare(
    bytes: &[u8],
    name: Option<&str>,
    format: Option<Format>,
    encoding: Option<&str>,
    options: ImportOptions,
) -> Result<Import, SyncError> {
    if options.source.trim().is_empty() || options.source.chars().count() > 100 {
        return Err(SyncError::invalid("source", "source must have 1 to 100 characters"));
    }
    let encoding = match encoding {
        None => None,
        Some(label) => Some(
            encoding_rs::Encoding::for_label(label.trim().as_bytes())
                .ok_or_else(|| SyncError::invalid("encoding", format!("unknown encoding {label:?}")))?,
        ),
    };
    let format = format
        .or_else(|| Format::sniff(bytes, name))
        .ok_or_else(|| SyncError::invalid("format", "the kind of file cannot be told; name its format"))?;
    let (rows, file) = read::read(bytes, format, encoding).map_err(|e| SyncError::invalid("file", e.0))?;
    Ok(Import { options, rows, file })
}

impl Command for Import {
    const NAME: &'static str = "place.import.v1";
    const ACTION: &'static str = "import";
    type Output = Report;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Report>, SyncError> {
        let o = &self.options;
        let mut report = Report {
            file: self.file.clone(),
            source: o.source.trim().to_owned(),
            dry_run: o.dry_run,
            rows: self.rows.len(),
            ..Report::default()
        };
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut ok: Vec<Candidate> = Vec::new();
        for row in &self.rows {
            match candidate(row, o) {
                Ok(c) => {
                    if let Some(first) = seen.get(&c.external_id) {
                        report.refused.push(Refusal {
                            line: c.line,
                            reason: "duplicate_external_id",
                            message: format!("external id {:?} is also on line {first}", c.external_id),
                        });
                        continue;
                    }
                    seen.insert(c.external_id.clone(), c.line);
                    ok.push(c);
                }
                Err(r) => report.refused.push(r),
            }
        }
        // Stations: by code or name, else the most specific whose service area holds the place.
        let refs: Vec<Option<String>> = ok.iter().map(|c| c.station.clone()).collect();
        let geoms: Vec<Vec<u8>> = ok.iter().map(|c| wkb::to_wkb(&c.geometry)).collect();
        let stations: Vec<Option<Uuid>> = sqlx::query_scalar(include_str!("resolve_stations.sql"))
            .bind(&refs)
            .bind(&geoms)
            .fetch_all(&mut *tx)
            .await?;
        let mut taken: Vec<(Candidate, Uuid, Vec<u8>)> = Vec::new();
        for ((c, station), geom) in ok.into_iter().zip(stations).zip(geoms) {
            match station {
                Some(s) => taken.push((c, s, geom)),
                None => report.refused.push(Refusal {
                    line: c.line,
                    reason: "unknown_station",
                    message: match &c.station {
                        Some(r) => format!("no active station with code or name {r:?}"),
                        None => "no station's service area holds this place; name its station".into(),
                    },
                }),
            }
        }
        report.refused.sort_by_key(|r| r.line);
        report.repaired = taken.iter().filter(|t| t.0.repair).map(|t| t.0.line).collect();
        let ids: Vec<Uuid> = taken.iter().map(|_| Uuid::now_v7()).collect();
        let created: Vec<bool> = sqlx::query_scalar(include_str!("upsert.sql"))
            .bind(&report.source)
            .bind(taken.iter().map(|t| t.0.external_id.clone()).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.0.name.clone()).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.0.kind).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.0.address.clone()).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.2.clone()).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.1).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.0.attributes.clone()).collect::<Vec<_>>())
            .bind(taken.iter().map(|t| t.0.repair).collect::<Vec<_>>())
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        report.created = created.iter().filter(|c| **c).count();
        report.updated = created.len() - report.created;
        report.unchanged = taken.len() - created.len();
        if o.deactivate_missing {
            let present: Vec<String> = taken.iter().map(|t| t.0.external_id.clone()).collect();
            let retired: Vec<Uuid> = sqlx::query_scalar(include_str!("deactivate_missing.sql"))
                .bind(&report.source)
                .bind(&present)
                .fetch_all(&mut *tx)
                .await?;
            for place in &retired {
                crate::assignments::end_open(tx, crate::assignments::Ending::Place(*place)).await?;
            }
            report.deactivated = retired.len();
        }
        let details = json!({
            "source": report.source, "rows": report.rows, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "refused": report.refused.len(), "deactivated": report.deactivated,
            "repaired": report.repaired.len(), "format": report.file.format,
        });
        Ok(Applied { entity: "place_import", id: Uuid::now_v7(), details, result: report })
    }
}

/// Runs an import: applied and audited in one transaction, or, for a dry run,
/// applied and rolled back, so its report counts exactly what a real run would do.
pub async fn run(db: &PgPool, by: Uuid, import: Import) -> Result<Report, SyncError> {
    if import.options.dry_run {
        crate::command::dry_run(db, by, import).await
    } else {
        crate::command::execute(db, by, import).await
    }
}
