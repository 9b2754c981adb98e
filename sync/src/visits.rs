//! The monthly visit rule: each representative visits each assigned place at
//! least once per calendar month in Asia/Shanghai. A visit counts when its
//! check-in is verified (and not rejected on review) or accepted on review: the
//! database function `counts_as_visit` (migration 0011), which the issue
//! statistics ask too.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::month::Month;
use crate::scope::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    Visited,
    /// No visit yet; the month is still running.
    Due,
    /// The month is over without a visit that counts.
    Overdue,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    pub check_in_id: Uuid,
    pub visited_at: DateTime<Utc>,
    pub verdict: String,
    pub review: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitEntry {
    pub assignment_id: Uuid,
    pub place_id: Uuid,
    pub place_name: String,
    pub kind: String,
    pub station_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub status: VisitStatus,
    pub visit: Option<Visit>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub assigned: u32,
    pub visited: u32,
    pub due: u32,
    pub overdue: u32,
}

impl Totals {
    fn add(&mut self, s: VisitStatus) {
        self.assigned += 1;
        match s {
            VisitStatus::Visited => self.visited += 1,
            VisitStatus::Due => self.due += 1,
            VisitStatus::Overdue => self.overdue += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonTotals {
    pub person_id: Uuid,
    pub person_name: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StationTotals {
    pub station_id: Uuid,
    pub station_name: String,
    #[serde(flatten)]
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthStatus {
    /// `YYYY-MM`.
    pub month: String,
    /// Whether the month is over in Asia/Shanghai.
    pub closed: bool,
    pub entries: Vec<VisitEntry>,
    pub people: Vec<PersonTotals>,
    pub stations: Vec<StationTotals>,
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    assignment_id: Uuid,
    place_id: Uuid,
    place_name: String,
    kind: String,
    station_id: Uuid,
    station_name: String,
    person_id: Uuid,
    person_name: String,
    closed: bool,
    check_in_id: Option<Uuid>,
    visited_at: Option<DateTime<Utc>>,
    verdict: Option<String>,
    review: Option<String>,
}

/// The month's status within a scope (the stations of the place, one
/// person); `month` defaults to the current one (Asia/Shanghai, by the
/// database's clock). The station and presidium views are this same query
/// with a wider scope.
pub async fn month_status(db: &sqlx::PgPool, month: Option<Month>, scope: &Scope) -> Result<MonthStatus, sqlx::Error> {
    let month = match month {
        Some(m) => m.first_day(),
        None => sqlx::query_scalar(include_str!("this_month.sql")).fetch_one(db).await?,
    };
    let rows: Vec<Row> = sqlx::query_as(include_str!("month_status.sql"))
        .bind(month)
        .bind(&scope.stations)
        .bind(scope.person)
        .fetch_all(db)
        .await?;
    let closed = rows.first().map_or_else(|| false, |r| r.closed);
    let mut people: Vec<PersonTotals> = Vec::new();
    let mut by_station: Vec<StationTotals> = Vec::new();
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        let status = match (r.check_in_id, r.closed) {
            (Some(_), _) => VisitStatus::Visited,
            (None, false) => VisitStatus::Due,
            (None, true) => VisitStatus::Overdue,
        };
        if !people.iter().any(|p| p.person_id == r.person_id) {
            people.push(PersonTotals {
                person_id: r.person_id,
                person_name: r.person_name.clone(),
                totals: Totals::default(),
            });
        }
        if !by_station.iter().any(|s| s.station_id == r.station_id) {
            by_station.push(StationTotals {
                station_id: r.station_id,
                station_name: r.station_name.clone(),
                totals: Totals::default(),
            });
        }
        people.iter_mut().filter(|p| p.person_id == r.person_id).for_each(|p| p.totals.add(status));
        by_station.iter_mut().filter(|s| s.station_id == r.station_id).for_each(|s| s.totals.add(status));
        entries.push(VisitEntry {
            assignment_id: r.assignment_id,
            place_id: r.place_id,
            place_name: r.place_name,
            kind: r.kind,
            station_id: r.station_id,
            person_id: r.person_id,
            person_name: r.person_name,
            status,
            visit: r.check_in_id.zip(r.visited_at).map(|(id, at)| Visit {
                check_in_id: id,
                visited_at: at,
                verdict: r.verdict.unwrap_or_default(),
                review: r.review,
            }),
        });
    }
    let closed = closed || month_closed(db, month).await?;
    Ok(MonthStatus { month: month.format("%Y-%m").to_string(), closed, entries, people, stations: by_station })
}

async fn month_closed(db: &sqlx::PgPool, month: NaiveDate) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(include_str!("month_over.sql")).bind(month).fetch_one(db).await
}
