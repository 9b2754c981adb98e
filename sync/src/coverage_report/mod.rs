//! The printable monthly coverage report: for one month and a set of
//! stations, every active place with its status (from `place_coverage`,
//! migration 0013, the one definition of covered), the stations' service
//! areas, the totals per station and the overdue places, with the geometry
//! already projected (Web Mercator) into the pixels of the page's map frame
//! by PostGIS (`ST_AsSVG`), so that the drawing needs no geometry of its own.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::SyncError;
use crate::month::Month;
use crate::scope::Scope;
use crate::stations::StationLevel;

/// A place's status in the month: the coverage map's own.
pub use crate::coverage::CoverageStatus;

/// Where on the page the map is drawn, in the page's units (pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A station as drawn: its service area as SVG path data in page pixels.
#[derive(Debug, Clone)]
pub struct MapStation {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub level: StationLevel,
    pub area: Option<String>,
    /// Where the name is written.
    pub label: (f64, f64),
}

/// A place as drawn and listed.
#[derive(Debug, Clone)]
pub struct MapPlace {
    pub id: Uuid,
    pub name: String,
    /// `grid_cell`, `enterprise` or `project_site`.
    pub kind: String,
    pub station_id: Uuid,
    pub station_name: String,
    pub status: CoverageStatus,
    /// Assignments in force during the month.
    pub assigned: i64,
    /// The month's visits by the assigned representatives.
    pub visits: i64,
    /// The latest visit that counts, by anyone, up to the month's end.
    pub last_visit_at: Option<DateTime<Utc>>,
    pub open_issues: i64,
    /// The representatives assigned during the month, by name.
    pub representatives: Vec<String>,
    /// The marker's centre (a point on the place's surface), in page pixels.
    pub marker: (f64, f64),
    /// A polygon's outline as SVG path data, in page pixels; `None` for a point.
    pub outline: Option<String>,
}

/// Places by status, and the coverage rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub places: u32,
    pub visited: u32,
    pub due: u32,
    pub overdue: u32,
    pub unassigned: u32,
}

impl Totals {
    fn add(&mut self, status: CoverageStatus) {
        self.places += 1;
        match status {
            CoverageStatus::Visited => self.visited += 1,
            CoverageStatus::Due => self.due += 1,
            CoverageStatus::Overdue => self.overdue += 1,
            CoverageStatus::Unassigned => self.unassigned += 1,
        }
    }

    /// Places with someone assigned during the month.
    pub fn assigned(self) -> u32 {
        self.places - self.unassigned
    }

    /// Visited over assigned places; `None` when nothing was assigned.
    pub fn rate(self) -> Option<f64> {
        (self.assigned() > 0).then(|| f64::from(self.visited) / f64::from(self.assigned()))
    }

    pub fn count(self, status: CoverageStatus) -> u32 {
        match status {
            CoverageStatus::Visited => self.visited,
            CoverageStatus::Due => self.due,
            CoverageStatus::Overdue => self.overdue,
            CoverageStatus::Unassigned => self.unassigned,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StationTotals {
    pub station_id: Uuid,
    pub station_name: String,
    pub totals: Totals,
}

/// The report of one month within one set of stations.
#[derive(Debug, Clone)]
pub struct CoverageReport {
    pub month: Month,
    /// Whether the month is over (Asia/Shanghai): then nothing is due.
    pub closed: bool,
    /// The station the report was narrowed to (`station_id`), if any.
    pub station: Option<MapStation>,
    pub stations: Vec<MapStation>,
    /// By station code, then name.
    pub places: Vec<MapPlace>,
    /// Per station that has places, in the order of `stations`.
    pub totals: Vec<StationTotals>,
    pub total: Totals,
}

impl CoverageReport {
    pub fn overdue(&self) -> impl Iterator<Item = &MapPlace> {
        self.places.iter().filter(|p| p.status == CoverageStatus::Overdue)
    }
}

#[derive(sqlx::FromRow)]
struct MonthRow {
    month: NaiveDate,
    closed: bool,
}

#[derive(sqlx::FromRow)]
struct ExtentRow {
    min_x: Option<f64>,
    min_y: Option<f64>,
    max_x: Option<f64>,
    max_y: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct StationRow {
    id: Uuid,
    name: String,
    code: String,
    level: StationLevel,
    area: Option<String>,
    label_x: f64,
    label_y: f64,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    name: String,
    kind: String,
    station_id: Uuid,
    station_name: String,
    status: String,
    assigned: i64,
    visits: i64,
    last_visit_at: Option<DateTime<Utc>>,
    open_issues: i64,
    representatives: Vec<String>,
    x: f64,
    y: f64,
    path: Option<String>,
}

/// Web Mercator metres to page pixels: `x' = s·x + dx`, `y' = s·y + dy`, with y
/// still up (`ST_AsSVG` turns it down).
#[derive(Debug, Clone, Copy)]
struct Affine {
    scale: f64,
    dx: f64,
    dy: f64,
}

/// Some 2 km: the smallest extent the map is fitted to, so that one place
/// alone is not drawn at an absurd scale.
const MIN_SPAN_M: f64 = 2000.0;

/// The margin kept around what is shown, as a share of its span.
const MARGIN: f64 = 0.04;

impl Affine {
    /// Fits the box `(min_x, min_y, max_x, max_y)` (metres) into `frame`,
    /// centred, the same scale on both axes.
    fn fit(b: (f64, f64, f64, f64), frame: Frame) -> Self {
        let (cx, cy) = (f64::midpoint(b.0, b.2), f64::midpoint(b.1, b.3));
        let span_x = (b.2 - b.0).max(MIN_SPAN_M) * (1.0 + 2.0 * MARGIN);
        let span_y = (b.3 - b.1).max(MIN_SPAN_M) * (1.0 + 2.0 * MARGIN);
        let scale = (frame.width / span_x).min(frame.height / span_y);
        let (px, py) = (frame.x + frame.width / 2.0, frame.y + frame.height / 2.0);
        // px = s·(x − cx) + px0; page y = py0 − s·(y − cy) = −(s·y + dy).
        Self { scale, dx: px - scale * cx, dy: -py - scale * cy }
    }
}

/// The stations a report covers: the caller's scope, narrowed to the subtree
/// of `station` when one is asked for. `None` is every station. A station
/// outside the scope is not found, as if it did not exist.
async fn stations_in_report(db: &PgPool, scope: &Scope, station: Option<Uuid>) -> Result<Option<Vec<Uuid>>, SyncError> {
    let Some(root) = station else { return Ok(scope.stations.clone()) };
    if scope.stations.as_ref().is_some_and(|s| !s.contains(&root)) {
        return Err(SyncError::NotFound("station"));
    }
    let mut subtree: Vec<Uuid> = sqlx::query_scalar(include_str!("subtree.sql")).bind(root).fetch_all(db).await?;
    if subtree.is_empty() {
        return Err(SyncError::NotFound("station"));
    }
    if let Some(allowed) = &scope.stations {
        subtree.retain(|s| allowed.contains(s));
    }
    Ok(Some(subtree))
}

/// The report of `month` (default: the current one) within `scope`, narrowed
/// to `station`'s subtree when given, with the map fitted into `frame`.
/// A scope of own records only (`scope.person`) is not a reach of places:
/// the policy gives representatives their station for places.
pub async fn report(
    db: &PgPool,
    month: Option<Month>,
    scope: &Scope,
    station: Option<Uuid>,
    frame: Frame,
) -> Result<CoverageReport, SyncError> {
    let stations = stations_in_report(db, scope, station).await?;
    let shown: MonthRow =
        sqlx::query_as(include_str!("month.sql")).bind(month.map(Month::first_day)).fetch_one(db).await?;
    let extent: ExtentRow = sqlx::query_as(include_str!("extent.sql")).bind(&stations).fetch_one(db).await?;
    let bbox = match (extent.min_x, extent.min_y, extent.max_x, extent.max_y) {
        (Some(min_x), Some(min_y), Some(max_x), Some(max_y)) => (min_x, min_y, max_x, max_y),
        _ => (0.0, 0.0, 0.0, 0.0),
    };
    let t = Affine::fit(bbox, frame);

    let drawn: Vec<StationRow> = sqlx::query_as(include_str!("stations.sql"))
        .bind(&stations)
        .bind(t.scale)
        .bind(t.dx)
        .bind(t.dy)
        .fetch_all(db)
        .await?;
    let drawn: Vec<MapStation> = drawn
        .into_iter()
        .map(|s| MapStation {
            id: s.id,
            name: s.name,
            code: s.code,
            level: s.level,
            area: s.area,
            label: (s.label_x, s.label_y),
        })
        .collect();

    let rows: Vec<PlaceRow> = sqlx::query_as(include_str!("places.sql"))
        .bind(shown.month)
        .bind(&stations)
        .bind(t.scale)
        .bind(t.dx)
        .bind(t.dy)
        .fetch_all(db)
        .await?;
    let mut places = Vec::with_capacity(rows.len());
    for r in rows {
        places.push(MapPlace {
            status: CoverageStatus::from_code(&r.status)?,
            id: r.id,
            name: r.name,
            kind: r.kind,
            station_id: r.station_id,
            station_name: r.station_name,
            assigned: r.assigned,
            visits: r.visits,
            last_visit_at: r.last_visit_at,
            open_issues: r.open_issues,
            representatives: r.representatives,
            marker: (r.x, r.y),
            outline: r.path,
        });
    }

    let mut total = Totals::default();
    let mut totals: Vec<StationTotals> = Vec::new();
    for s in &drawn {
        let mut t = Totals::default();
        for p in places.iter().filter(|p| p.station_id == s.id) {
            t.add(p.status);
            total.add(p.status);
        }
        if t.places > 0 {
            totals.push(StationTotals { station_id: s.id, station_name: s.name.clone(), totals: t });
        }
    }
    Ok(CoverageReport {
        month: Month::of_date(shown.month),
        closed: shown.closed,
        station: station.and_then(|id| drawn.iter().find(|s| s.id == id).cloned()),
        stations: drawn,
        places,
        totals,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_is_fitted_centred_with_one_scale() {
        let frame = Frame { x: 10.0, y: 20.0, width: 400.0, height: 200.0 };
        let t = Affine::fit((0.0, 0.0, 10_000.0, 10_000.0), frame);
        // Height binds: 10 km and margins in 200 px.
        assert!((t.scale - 200.0 / 10_800.0).abs() < 1e-12);
        // The box's centre lands on the frame's centre (page y down).
        let (x, y) = (5000.0, 5000.0);
        assert!((t.scale * x + t.dx - 210.0).abs() < 1e-9);
        assert!((-(t.scale * y + t.dy) - 120.0).abs() < 1e-9);
        // North is up: a larger y is higher on the page.
        assert!(-(t.scale * 10_000.0 + t.dy) < -(t.scale * 0.0 + t.dy));
    }

    #[test]
    fn the_rate_is_visited_over_assigned() {
        let t = Totals { places: 5, visited: 2, due: 0, overdue: 2, unassigned: 1 };
        assert_eq!(t.assigned(), 4);
        assert_eq!(t.rate(), Some(0.5));
        assert_eq!(Totals { places: 1, unassigned: 1, ..Totals::default() }.rate(), None);
    }
}
