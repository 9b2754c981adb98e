//! `/v1/issues/stats`: the ledger's figures for a period (visits, issues
//! raised, accepted, closed out, still open, overdue, days to close-out,
//! satisfaction), within the caller's scope. The figures and their
//! definitions are the domain's ([`fieldvisit_sync::issues::stats`]).

use axum::Json;
use axum::extract::State;
use fieldvisit_sync::SyncError;
use fieldvisit_sync::issues::stats::{self, Filter, IssueStats, Period};
use fieldvisit_sync::month::Month;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::ApiResult;
use crate::input::Query;

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// The first month, `YYYY-MM` (Asia/Shanghai); default: eleven months before `to`.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub from: Option<String>,
    /// The last month, inclusive, `YYYY-MM`; default: this month (or eleven after `from`, at most this month).
    /// The period spans at most 36 months.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub to: Option<String>,
    /// Only this station (its own issues, and visits to its places).
    pub station_id: Option<Uuid>,
    /// Only issues of this category code (visits have none and are not narrowed).
    pub category: Option<String>,
}

fn month(field: &'static str, v: Option<&str>) -> ApiResult<Option<Month>> {
    Ok(v.map(Month::parse).transpose().map_err(|e| SyncError::BadParameter { field, message: e.to_string() })?)
}

/// Visits and issue figures for a period, in total and per month, station
/// and category. Issue figures count the issues raised in the period as they
/// stand now; staff see their subtree, representatives the issues they raised
/// and their own visits, planners, the presidium and admins everything.
#[utoipa::path(get, path = "/v1/issues/stats", tag = "issues", params(StatsQuery), security(("bearer" = [])),
    responses((status = 200, body = IssueStats), (status = 400, body = super::ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> ApiResult<Json<IssueStats>> {
    let (from, to) = (month("from", q.from.as_deref())?, month("to", q.to.as_deref())?);
    let period = Period::new(from, to, stats::this_month(&state.db).await?)?;
    let issues = caller.scope(&state.db, Resource::Issues).await?;
    let visits = caller.scope(&state.db, Resource::CheckIns).await?;
    let filter = Filter { station_id: q.station_id, category: q.category };
    Ok(Json(stats::stats(&state.db, &issues, &visits, period, &filter).await?))
}
