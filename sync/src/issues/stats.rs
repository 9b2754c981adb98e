//! The ledger's statistics (`GET /v1/issues/stats`): over a period of
//! Asia/Shanghai months, the visits made and what became of the issues
//! raised, in total and per month, station and category; the figures a
//! township reports for its year ("600+ visits, 26 issues raised, 24 solved").
//!
//! Issue figures count the issues raised in the period, as they stand now
//! (a cohort: `stats_issues.sql` says why and defines each figure); visits count
//! check-ins by the one visit rule (`counts_as_visit`), by visit month.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::SyncError;
use crate::month::Month;
use crate::scope::Scope;

/// The longest period one request may ask for: three years of months.
pub const MAX_MONTHS: u32 = 36;

/// The months asked for, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Month,
    pub to: Month,
}

impl Period {
    /// A period from the query's months; either may be missing: the default
    /// is the twelve months ending with `this_month` (the current one), and a
    /// lone bound takes twelve months from or up to it. `from` after `to`, or
    /// more than [`MAX_MONTHS`], is a bad parameter (400).
    pub fn new(from: Option<Month>, to: Option<Month>, this_month: Month) -> Result<Self, SyncError> {
        let back = |m: Month| (1..12).fold(m, |m, _| m.previous());
        let ahead = |m: Month| (1..12).fold(m, |m, _| m.next());
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, ahead(f).min(this_month).max(f)),
            (None, Some(t)) => (back(t), t),
            (None, None) => (back(this_month), this_month),
        };
        if from > to {
            return Err(SyncError::BadParameter {
                field: "from",
                message: format!("from ({from}) is after to ({to})"),
            });
        }
        let period = Self { from, to };
        if period.months() > MAX_MONTHS {
            return Err(SyncError::BadParameter {
                field: "to",
                message: format!(
                    "a period may span at most {MAX_MONTHS} months ({from} to {to} is {})",
                    period.months()
                ),
            });
        }
        Ok(period)
    }

    /// How many months it spans.
    pub fn months(self) -> u32 {
        let span = (self.to.year() - self.from.year()) * 12 + i32::try_from(self.to.month()).unwrap_or(0)
            - i32::try_from(self.from.month()).unwrap_or(0)
            + 1;
        u32::try_from(span).unwrap_or(0)
    }

    fn each(self) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self.from), |m| Some(m.next())).take_while(move |m| *m <= self.to)
    }
}

/// Narrower than the scope: one station (exactly that one, as the issue
/// list's `station_id`), one category.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub station_id: Option<Uuid>,
    pub category: Option<String>,
}

/// The figures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Check-ins that count as visits (verified, or accepted on review), by
    /// visit month and the station of the place. Null per category: a visit
    /// has none, and the `category` filter leaves visits as they are.
    pub visits: Option<i64>,
    /// Issues raised in the period (merged duplicates left out).
    pub raised: i64,
    /// Of those, the ones that reached `accepted` at some point (by their
    /// state, or their history when they were returned or rejected after it).
    pub accepted: i64,
    /// Of those, the ones closed out (销号).
    pub closed_out: i64,
    /// Of those, the ones still being worked: new, accepted, forwarded,
    /// in progress, answered or returned.
    pub still_open: i64,
    /// Of those, the ones past their deadline and neither answered nor closed out.
    pub overdue: i64,
    /// Median days from raising to close-out of the closed-out ones (two decimals).
    pub median_days_to_close_out: Option<f64>,
    /// Mean satisfaction rating (1–5) of the closed-out ones (two decimals).
    pub mean_satisfaction: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthFigures {
    /// `YYYY-MM` (Asia/Shanghai).
    pub month: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StationFigures {
    pub station_id: Uuid,
    pub station_name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryFigures {
    pub category: String,
    pub category_zh: String,
    pub category_en: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueStats {
    /// `YYYY-MM`, the first month of the period.
    pub from: String,
    /// `YYYY-MM`, the last month of the period (inclusive).
    pub to: String,
    pub total: Figures,
    /// Every month of the period, in order, empty ones included.
    pub by_month: Vec<MonthFigures>,
    /// The stations with visits or issues in the period, by name.
    pub by_station: Vec<StationFigures>,
    /// The categories with issues in the period, in the code list's order.
    pub by_category: Vec<CategoryFigures>,
}

#[derive(Debug, sqlx::FromRow)]
struct IssueRow {
    kind: String,
    /// The month's place in the period, from 1.
    m: Option<i32>,
    station_id: Option<Uuid>,
    station_name: Option<String>,
    category: Option<String>,
    category_zh: Option<String>,
    category_en: Option<String>,
    category_sort: Option<i32>,
    raised: i64,
    accepted: i64,
    closed_out: i64,
    still_open: i64,
    overdue: i64,
    mean_satisfaction: Option<f64>,
    /// From the medians' rows, once joined.
    #[sqlx(skip)]
    median_days_to_close_out: Option<f64>,
}

#[derive(Debug, sqlx::FromRow)]
struct MedianRow {
    kind: String,
    m: Option<i32>,
    station_id: Option<Uuid>,
    category: Option<String>,
    median_days_to_close_out: Option<f64>,
}

impl IssueRow {
    fn figures(&self, visits: Option<i64>) -> Figures {
        Figures {
            visits,
            raised: self.raised,
            accepted: self.accepted,
            closed_out: self.closed_out,
            still_open: self.still_open,
            overdue: self.overdue,
            median_days_to_close_out: self.median_days_to_close_out,
            mean_satisfaction: self.mean_satisfaction,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct VisitRow {
    month: NaiveDate,
    station_id: Uuid,
    station_name: String,
    visits: i64,
}

/// The current month (Asia/Shanghai) by the database's clock, as the visit
/// status takes it.
pub async fn this_month(db: &sqlx::PgPool) -> Result<Month, SyncError> {
    let first: NaiveDate = sqlx::query_scalar(include_str!("../this_month.sql")).fetch_one(db).await?;
    Ok(Month::of_date(first))
}

/// The statistics of `period`: issues within `issues` (the ledger's scope),
/// visits within `visits` (the check-ins' scope), narrowed by `filter`.
pub async fn stats(
    db: &sqlx::PgPool,
    issues: &Scope,
    visits: &Scope,
    period: Period,
    filter: &Filter,
) -> Result<IssueStats, SyncError> {
    let (start, stop): (DateTime<Utc>, DateTime<Utc>) = (period.from.starts_at(), period.to.next().starts_at());
    let month_starts: Vec<DateTime<Utc>> = period.each().map(Month::starts_at).collect();
    // The two issue reads share the scoped issues and their parameters.
    let scoped = |sql: &'static str| {
        sqlx::query(sql)
            .bind(start)
            .bind(stop)
            .bind(&issues.stations)
            .bind(issues.person)
            .bind(filter.station_id)
            .bind(&filter.category)
            .bind(&month_starts)
    };
    let visit_query = sqlx::query(include_str!("stats_visits.sql"))
        .bind(period.from.first_day())
        .bind(period.to.next().first_day())
        .bind(&visits.stations)
        .bind(visits.person)
        .bind(filter.station_id);
    // Three independent reads, each on its own connection, at the same time:
    // the answer waits for the slowest only.
    let (issue_rows, median_rows, visit_rows) = futures_util::future::try_join3(
        read(db, scoped(concat!(include_str!("stats_issues.sql"), include_str!("stats_counts.sql")))),
        read(db, scoped(concat!(include_str!("stats_issues.sql"), include_str!("stats_medians.sql")))),
        read(db, visit_query),
    )
    .await?;
    let mut issue_rows = rows::<IssueRow>(&issue_rows)?;
    let median_rows = rows::<MedianRow>(&median_rows)?;
    let visit_rows = rows::<VisitRow>(&visit_rows)?;
    for r in &mut issue_rows {
        r.median_days_to_close_out = median_rows
            .iter()
            .find(|md| md.kind == r.kind && md.m == r.m && md.station_id == r.station_id && md.category == r.category)
            .and_then(|md| md.median_days_to_close_out);
    }
    Ok(assemble(period, &issue_rows, &visit_rows))
}

/// Runs `query` in a transaction of its own with the statistics' settings
/// (`stats_session.sql`).
async fn read(
    db: &sqlx::PgPool,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query(include_str!("stats_session.sql")).execute(&mut *tx).await?;
    let rows = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

fn rows<R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>>(
    rows: &[sqlx::postgres::PgRow],
) -> Result<Vec<R>, sqlx::Error> {
    rows.iter().map(R::from_row).collect()
}

/// For the statistics benchmark only: loads `issues` issues (with their
/// history and a raiser) and `check_ins` check-ins over the twelve months
/// ending now, in one generated statement. The sync log triggers are off
/// for it (`session_replication_role = replica`, which takes a superuser):
/// no device will pull these rows, and writing a change for each would
/// multiply the load time without adding anything the benchmark reads.
pub async fn load_bench_data(db: &sqlx::PgPool, issues: i32, check_ins: i32) -> Result<(), SyncError> {
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await?;
    sqlx::query(include_str!("stats_bench_load.sql")).bind(issues).bind(check_ins).execute(&mut *tx).await?;
    tx.commit().await?;
    // Statistics for the planner, and the visibility map for index-only scans,
    // as autovacuum would leave them some time after such a load.
    sqlx::query("VACUUM ANALYZE issues, issue_events, issue_raisers, check_ins").execute(db).await?;
    Ok(())
}

/// For the statistics benchmark only: its reference, the visits of `period`
/// counted in one statement (`stats_bench_floor.sql` says why).
pub async fn bench_floor(db: &sqlx::PgPool, period: Period) -> Result<i64, SyncError> {
    Ok(sqlx::query_scalar(include_str!("stats_bench_floor.sql"))
        .bind(period.from.first_day())
        .bind(period.to.next().first_day())
        .fetch_one(db)
        .await?)
}

fn assemble(period: Period, issue_rows: &[IssueRow], visit_rows: &[VisitRow]) -> IssueStats {
    let visits_where = |keep: &dyn Fn(&VisitRow) -> bool| visit_rows.iter().filter(|v| keep(v)).map(|v| v.visits).sum();
    let of_kind = |kind: &'static str| issue_rows.iter().filter(move |r| r.kind == kind);

    let total =
        of_kind("total").next().map_or_else(Figures::default, |r| r.figures(None)).with_visits(visits_where(&|_| true));
    let by_month = period
        .each()
        .zip(1..)
        .map(|(m, n)| {
            let day = m.first_day();
            let figures = of_kind("month")
                .find(|r| r.m == Some(n))
                .map_or_else(Figures::default, |r| r.figures(None))
                .with_visits(visits_where(&|v| v.month == day));
            MonthFigures { month: m.to_string(), figures }
        })
        .collect();

    let mut stations: Vec<(Uuid, String)> = of_kind("station")
        .filter_map(|r| Some((r.station_id?, r.station_name.clone().unwrap_or_default())))
        .chain(visit_rows.iter().map(|v| (v.station_id, v.station_name.clone())))
        .collect();
    stations.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    stations.dedup_by_key(|s| s.0);
    let by_station = stations
        .into_iter()
        .map(|(id, name)| {
            let figures = of_kind("station")
                .find(|r| r.station_id == Some(id))
                .map_or_else(Figures::default, |r| r.figures(None))
                .with_visits(visits_where(&|v| v.station_id == id));
            StationFigures { station_id: id, station_name: name, figures }
        })
        .collect();

    let mut categories: Vec<&IssueRow> = of_kind("category").collect();
    categories.sort_by_key(|r| (r.category_sort, r.category.clone()));
    let by_category = categories
        .into_iter()
        .map(|r| CategoryFigures {
            category: r.category.clone().unwrap_or_default(),
            category_zh: r.category_zh.clone().unwrap_or_default(),
            category_en: r.category_en.clone().unwrap_or_default(),
            figures: r.figures(None),
        })
        .collect();

    IssueStats { from: period.from.to_string(), to: period.to.to_string(), total, by_month, by_station, by_category }
}

impl Figures {
    fn with_visits(self, visits: i64) -> Self {
        Self { visits: Some(visits), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn the_default_period_is_the_twelve_months_ending_this_month() {
        let p = Period::new(None, None, m("2026-12")).unwrap();
        assert_eq!((p.from, p.to, p.months()), (m("2026-01"), m("2026-12"), 12));
        let p = Period::new(None, None, m("2026-03")).unwrap();
        assert_eq!((p.from, p.to), (m("2025-04"), m("2026-03")));
        let p = Period::new(None, Some(m("2025-06")), m("2026-12")).unwrap();
        assert_eq!((p.from, p.to), (m("2024-07"), m("2025-06")));
        let p = Period::new(Some(m("2026-10")), None, m("2026-12")).unwrap();
        assert_eq!((p.from, p.to), (m("2026-10"), m("2026-12")));
    }

    #[test]
    fn a_backwards_or_too_long_period_is_refused() {
        assert!(Period::new(Some(m("2026-05")), Some(m("2026-04")), m("2026-12")).is_err());
        assert_eq!(Period::new(Some(m("2024-01")), Some(m("2026-12")), m("2026-12")).unwrap().months(), 36);
        assert!(Period::new(Some(m("2023-12")), Some(m("2026-12")), m("2026-12")).is_err());
        assert_eq!(Period::new(Some(m("2026-05")), Some(m("2026-05")), m("2026-12")).unwrap().months(), 1);
    }
}
