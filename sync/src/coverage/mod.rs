//! Visit coverage: which places were visited in a month, which are due or
//! overdue and which have nobody assigned; the presidium's monthly review and
//! the planners' map. The rule itself is SQL (`month_assignment_visits` and
//! `place_coverage`, migration 0013), shared with `/v1/visits/status`, the
//! printable report and the vector tiles (`coverage_tile`, a function Martin
//! can serve too); this module reads it within a scope.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::month::Month;
use crate::places::PlaceKind;
use crate::{Scope, SyncError};

/// A place's status in a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    /// An assigned representative's visit there counted in the month.
    Visited,
    /// Assigned, not visited yet, and the month still runs.
    Due,
    /// Assigned, and the month ended without a visit that counts.
    Overdue,
    /// Nobody was assigned at any time of the month.
    Unassigned,
}

impl CoverageStatus {
    pub const ALL: [Self; 4] = [Self::Visited, Self::Due, Self::Overdue, Self::Unassigned];

    /// The word `place_coverage` answers with.
    pub fn code(self) -> &'static str {
        match self {
            Self::Visited => "visited",
            Self::Due => "due",
            Self::Overdue => "overdue",
            Self::Unassigned => "unassigned",
        }
    }

    pub(crate) fn from_code(code: &str) -> Result<Self, SyncError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| SyncError::Database(sqlx::Error::Decode(format!("unknown coverage status {code:?}").into())))
    }
}

/// One place's month.
#[derive(Debug, Clone)]
pub struct PlaceCoverage {
    pub id: Uuid,
    pub name: String,
    pub kind: PlaceKind,
    pub station_id: Uuid,
    pub station_name: String,
    /// WKB, WGS84.
    pub geom: Vec<u8>,
    pub status: CoverageStatus,
    /// Visits that counted in the month, by the representatives assigned then.
    pub visits: i64,
    /// The latest visit that counted there, by anyone, up to the month's end.
    pub last_visit_at: Option<DateTime<Utc>>,
    /// `[{person_id, name}]`: who was assigned at some time of the month.
    pub assigned: Value,
    /// Issues about the place still open in the ledger.
    pub open_issues: i64,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    name: String,
    kind: PlaceKind,
    station_id: Uuid,
    station_name: String,
    geom: Vec<u8>,
    status: String,
    visits: i64,
    last_visit_at: Option<DateTime<Utc>>,
    open_issues: i64,
    assigned: Value,
}

/// Places by status, and the coverage rate: visited among the assigned.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageTotals {
    pub places: u32,
    pub visited: u32,
    pub due: u32,
    pub overdue: u32,
    pub unassigned: u32,
    /// `visited / (places − unassigned)`, 0 to 1; null when nobody is assigned anywhere.
    pub coverage_rate: Option<f64>,
}

impl CoverageTotals {
    fn add(&mut self, s: CoverageStatus) {
        self.places += 1;
        match s {
            CoverageStatus::Visited => self.visited += 1,
            CoverageStatus::Due => self.due += 1,
            CoverageStatus::Overdue => self.overdue += 1,
            CoverageStatus::Unassigned => self.unassigned += 1,
        }
        self.coverage_rate = rate(self.visited, self.places - self.unassigned);
    }
}

fn rate(visited: u32, assigned: u32) -> Option<f64> {
    // Three decimals: a rate is read as a percentage with one.
    (assigned > 0).then(|| (f64::from(visited) / f64::from(assigned) * 1000.0).round() / 1000.0)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StationCoverage {
    pub station_id: Uuid,
    pub station_name: String,
    #[serde(flatten)]
    pub totals: CoverageTotals,
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Default: the current month (Asia/Shanghai, by the database's clock).
    pub month: Option<Month>,
    /// This station's subtree only (already checked to lie in the scope).
    pub stations: Option<Vec<Uuid>>,
    pub kind: Option<PlaceKind>,
}

/// A month's coverage.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub month: Month,
    /// The month is over (Asia/Shanghai): what is not visited is overdue.
    pub closed: bool,
    pub places: Vec<PlaceCoverage>,
    pub totals: CoverageTotals,
    pub stations: Vec<StationCoverage>,
}

/// The month the caller means: theirs, or the current one by the database's clock.
pub async fn month_or_current(db: &PgPool, month: Option<Month>) -> Result<Month, SyncError> {
    if let Some(m) = month {
        return Ok(m);
    }
    let first: NaiveDate = sqlx::query_scalar(include_str!("../this_month.sql")).fetch_one(db).await?;
    Ok(Month::of_date(first))
}

/// The stations a read covers: the scope's, narrowed by the filter's (both `None`: all).
fn within(scope: &Scope, filter: Option<&Vec<Uuid>>) -> Option<Vec<Uuid>> {
    match (&scope.stations, filter) {
        (None, None) => None,
        (Some(s), None) => Some(s.clone()),
        (None, Some(f)) => Some(f.clone()),
        (Some(s), Some(f)) => Some(f.iter().filter(|x| s.contains(x)).copied().collect()),
    }
}

/// The month's coverage of the places within `scope` and `filter`.
pub async fn coverage(db: &PgPool, scope: &Scope, filter: &Filter) -> Result<Coverage, SyncError> {
    let month = month_or_current(db, filter.month).await?;
    let stations = within(scope, filter.stations.as_ref());
    let rows: Vec<PlaceRow> = sqlx::query_as(include_str!("places.sql"))
        .bind(month.first_day())
        .bind(&stations)
        .bind(filter.kind)
        .fetch_all(db)
        .await?;
    let closed: bool =
        sqlx::query_scalar(include_str!("month_is_over.sql")).bind(month.first_day()).fetch_one(db).await?;
    let mut totals = CoverageTotals::default();
    let mut by_station: Vec<StationCoverage> = Vec::new();
    let mut places = Vec::with_capacity(rows.len());
    for r in rows {
        let status = CoverageStatus::from_code(&r.status)?;
        totals.add(status);
        if let Some(s) = by_station.iter_mut().find(|s| s.station_id == r.station_id) {
            s.totals.add(status);
        } else {
            let mut t = CoverageTotals::default();
            t.add(status);
            by_station.push(StationCoverage {
                station_id: r.station_id,
                station_name: r.station_name.clone(),
                totals: t,
            });
        }
        places.push(PlaceCoverage {
            id: r.id,
            name: r.name,
            kind: r.kind,
            station_id: r.station_id,
            station_name: r.station_name,
            geom: r.geom,
            status,
            visits: r.visits,
            last_visit_at: r.last_visit_at,
            assigned: r.assigned,
            open_issues: r.open_issues,
        });
    }
    Ok(Coverage { month, closed, places, totals, stations: by_station })
}

/// One station's coverage rate in one month.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    /// `YYYY-MM`.
    pub month: String,
    /// Places with someone assigned during the month.
    pub assigned: u32,
    pub visited: u32,
    pub unassigned: u32,
    pub coverage_rate: Option<f64>,
}

/// A station's months, oldest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StationTrend {
    pub station_id: Uuid,
    pub station_name: String,
    pub months: Vec<TrendPoint>,
}

#[derive(sqlx::FromRow)]
struct TrendRow {
    station_id: Uuid,
    station_name: String,
    month: String,
    assigned: i64,
    visited: i64,
    unassigned: i64,
}

/// The most months a trend reads.
pub const MAX_TREND_MONTHS: u32 = 36;

/// The coverage rate per station for each of the `months` months up to `last`
/// (default: the current one), within `scope` and `stations`.
pub async fn trend(
    db: &PgPool,
    scope: &Scope,
    stations: Option<&Vec<Uuid>>,
    months: u32,
    last: Option<Month>,
) -> Result<Vec<StationTrend>, SyncError> {
    if !(1..=MAX_TREND_MONTHS).contains(&months) {
        return Err(SyncError::BadParameter {
            field: "months",
            message: format!("months must be 1 to {MAX_TREND_MONTHS}"),
        });
    }
    let last = month_or_current(db, last).await?;
    let rows: Vec<TrendRow> = sqlx::query_as(include_str!("trend.sql"))
        .bind(i32::try_from(months).unwrap_or(1))
        .bind(last.first_day())
        .bind(within(scope, stations))
        .fetch_all(db)
        .await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out: Vec<StationTrend> = Vec::new();
    for r in rows {
        let point = TrendPoint {
            month: r.month,
            assigned: count(r.assigned),
            visited: count(r.visited),
            unassigned: count(r.unassigned),
            coverage_rate: rate(count(r.visited), count(r.assigned)),
        };
        match out.last_mut() {
            Some(s) if s.station_id == r.station_id => s.months.push(point),
            _ => out.push(StationTrend { station_id: r.station_id, station_name: r.station_name, months: vec![point] }),
        }
    }
    Ok(out)
}

/// A tile address in the Web Mercator pyramid.
#[derive(Debug, Clone, Copy)]
pub struct TileAddress {
    pub z: u32,
    pub x: u32,
    pub y: u32,
}

/// The deepest zoom served: a few metres per pixel, below any place.
pub const MAX_ZOOM: u32 = 22;

impl TileAddress {
    /// Checked: `z` at most [`MAX_ZOOM`], `x` and `y` within the zoom's 2^z.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, SyncError> {
        if z > MAX_ZOOM {
            return Err(SyncError::BadParameter { field: "z", message: format!("zoom {z} is beyond {MAX_ZOOM}") });
        }
        let side = 1u64 << z;
        if u64::from(x) >= side || u64::from(y) >= side {
            return Err(SyncError::BadParameter {
                field: "x",
                message: format!("tile {z}/{x}/{y} is outside the zoom's 2^{z} × 2^{z} tiles"),
            });
        }
        Ok(Self { z, x, y })
    }
}

/// One coverage tile (Mapbox Vector Tile bytes; empty when nothing is there) of the
/// places in `scope`; with `assignments`, the anchor → place lines too. The scope is
/// handed to the SQL function as its `stations` parameter: it never widens one.
pub async fn tile(
    db: &PgPool,
    scope: &Scope,
    at: TileAddress,
    month: Option<Month>,
    assignments: bool,
) -> Result<Vec<u8>, SyncError> {
    let stations = match &scope.stations {
        None => "all".to_owned(),
        // Nothing in scope: an empty list, which the function answers with an empty tile.
        Some(s) if s.is_empty() => return Ok(Vec::new()),
        Some(s) => s.iter().map(Uuid::to_string).collect::<Vec<_>>().join(","),
    };
    let mut params = json!({ "stations": stations });
    if let Some(m) = month {
        params["month"] = json!(m.to_string());
    }
    if assignments {
        params["assignments"] = json!("true");
    }
    let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(sqlx::query_scalar(include_str!("tile.sql"))
        .bind(to_i32(at.z))
        .bind(to_i32(at.x))
        .bind(to_i32(at.y))
        .bind(params)
        .fetch_one(db)
        .await?)
}
