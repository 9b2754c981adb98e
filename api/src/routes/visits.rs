//! `/v1/visits/status`: the monthly visit rule, within the caller's scope.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use fieldvisit_sync::visits::{self, MonthStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::input::Query;

#[derive(Debug, Deserialize, IntoParams)]
pub struct MonthQuery {
    /// `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// Parses `YYYY-MM` into the month's first day.
pub fn parse_month(v: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", v.trim()), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| ApiError::Invalid { code: "invalid_parameter", message: "month must be YYYY-MM".into(), field: Some("month".into()) })
}

/// For each assignment in force during the month: visited, due or overdue,
/// with totals per person and per station.
#[utoipa::path(get, path = "/v1/visits/status", tag = "visits", params(MonthQuery), security(("bearer" = [])),
    responses((status = 200, body = MonthStatus), (status = 400, body = super::ErrorBody)))]
pub async fn status(State(state): State<AppState>, caller: Caller, Query(q): Query<MonthQuery>) -> ApiResult<Json<MonthStatus>> {
    let month = match q.month.as_deref() {
        Some(m) => parse_month(m)?,
        None => sqlx::query_scalar("SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date").fetch_one(&state.db).await?,
    };
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    Ok(Json(visits::month_status(&state.db, month, scope.stations.as_deref(), scope.person).await?))
}
