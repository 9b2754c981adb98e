//! `/v1/visits/status`: the monthly visit rule, within the caller's scope.

use axum::Json;
use axum::extract::State;
use fieldvisit_sync::SyncError;
use fieldvisit_sync::month::Month;
use fieldvisit_sync::visits::{self, MonthStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::ApiResult;
use crate::input::Query;

#[derive(Debug, Deserialize, IntoParams)]
pub struct MonthQuery {
    /// `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// The `month` query parameter (`YYYY-MM`), when given; a bad one is a 400.
pub fn month_param(v: Option<&str>) -> ApiResult<Option<Month>> {
    Ok(v.map(Month::parse).transpose().map_err(SyncError::from)?)
}

/// For each assignment in force during the month: visited, due or overdue,
/// with totals per person and per station.
#[utoipa::path(get, path = "/v1/visits/status", tag = "visits", params(MonthQuery), security(("bearer" = [])),
    responses((status = 200, body = MonthStatus), (status = 400, body = super::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<MonthQuery>,
) -> ApiResult<Json<MonthStatus>> {
    let month = month_param(q.month.as_deref())?;
    let scope = caller.scope(&state.db, Resource::Assignments).await?;
    Ok(Json(visits::month_status(&state.db, month, &scope).await?))
}
